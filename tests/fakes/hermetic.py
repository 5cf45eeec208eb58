"""What the suite takes away from the calling shell before any test runs (issue #18, point 3).

A test must pass whatever the shell sets: the allow-listed determinism variables are recorded by
every capture and compared by every check, a launcher's variables name the node of a fleet
report, envsnap's own switches change what it prints, and a tracker's pick its server, run
and mode. `scrub` removes them from ``os.environ`` when tests/conftest.py is imported, so every
test and every child process it starts (the CLI in a subprocess, pip, torchrun) sees a plain
environment; a test that needs one of them sets it.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from envsnap._envvars import ALLOWLIST
from envsnap.checks.rules.blas import THREAD_VARS

__all__ = ["PREFIXES", "SCRUBBED", "scrub"]

# Set by launchers in each worker; read by `envsnap check --save` and `require(distributed=...)`.
LAUNCHER = frozenset(
    {
        "RANK",
        "LOCAL_RANK",
        "GROUP_RANK",
        "ROLE_RANK",
        "WORLD_SIZE",
        "LOCAL_WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
        "SLURMD_NODENAME",
        "RAY_ADDRESS",
    }
)
# envsnap's own switches and what changes what it writes or where it logs.
OWN = frozenset(
    {
        "SOURCE_DATE_EPOCH",
        "ENVSNAP_DEBUG",
        "ENVSNAP_CACHE_DIR",
        "ENVSNAP_PROC_ROOT",
        "ENVSNAP_SYS_ROOT",
        "NO_COLOR",
    }
)
# Where the CUDA probe looks for a system toolkit before /usr/local/cuda.
TOOLKIT = frozenset({"CUDA_HOME", "CUDA_PATH"})
# Where git finds its user config (the git probe reads the same files).
GIT_CONFIG_HOME = frozenset({"XDG_CONFIG_HOME"})
SCRUBBED: frozenset[str] = (
    ALLOWLIST | frozenset(THREAD_VARS) | LAUNCHER | OWN | TOOLKIT | GIT_CONFIG_HOME
)
# Whole families: torchrun's agent, Slurm's job, the trackers' servers, runs and modes (MLflow,
# W&B, Aim's remote repository), the NVML stand-in's switches, git's own (GIT_CONFIG_GLOBAL,
# GIT_DIR... point git and the git probe at other files).
PREFIXES = ("TORCHELASTIC_", "SLURM_", "MLFLOW_", "WANDB_", "AIM_", "FAKE_NVML_", "GIT_")


def scrub(environ: MutableMapping[str, str]) -> list[str]:
    """Remove the variables of `SCRUBBED` and `PREFIXES` from *environ*; return their names."""
    gone = sorted(k for k in environ if k in SCRUBBED or k.startswith(PREFIXES))
    for name in gone:
        del environ[name]
    return gone
