"""Small helpers the rules share: environment variables, package maps, GPU presence."""

from __future__ import annotations

from envsnap._text import canonical_name
from envsnap.cudause import cuda_users, used_components
from envsnap.findings import Finding
from envsnap.model import GPU, Environment, Snapshot

__all__ = [
    "envvars",
    "for_gpu",
    "framework_versions",
    "gpu_devices",
    "has_gpus",
    "norm",
    "packages",
    "sh",
    "uses_gpu",
]

# Packages whose presence means a numeric framework runs; the name is the framework key used in
# the knowledge files.
FRAMEWORKS = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "jax": "jax",
}


norm = canonical_name  # PEP 503 normalized distribution name


# The characters `shlex.quote` leaves unquoted (its ``[^\\w@%+=:,./-]`` with re.ASCII).
_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def sh(value: str) -> str:
    """*value* quoted for a POSIX shell as `shlex.quote` quotes it: a remedy is pasted into a
    terminal, and a recorded value like ``4 $(touch x)`` must stay one inert word. (Not shlex
    itself: importing it and its pattern cost every check a quarter of a millisecond.)"""
    if not value:
        return "''"
    if _SHELL_SAFE.issuperset(value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def envvars(env: Environment) -> dict[str, str]:
    """The recorded allowlisted environment variables as a dict.

    A withheld value (`envsnap._redact.WITHHELD`) is left out: no rule compares it.
    """
    from envsnap._redact import WITHHELD

    return {k: v for k, v in env.envvars if v != WITHHELD}


def packages(env: Environment) -> dict[str, str]:
    """Normalized name → version of every pip-installed distribution."""
    return {norm(p.name): p.version for p in env.packages}


def framework_versions(env: Environment) -> dict[str, str]:
    """Framework key (torch, tensorflow, jax) → installed version."""
    out: dict[str, str] = {}
    for name, version in packages(env).items():
        key = FRAMEWORKS.get(name)
        if key is not None:
            out[key] = version
    for fw in env.cuda.frameworks:
        out.setdefault(FRAMEWORKS.get(norm(fw.name), norm(fw.name)), fw.version)
    return out


def gpu_devices(snap: Snapshot) -> tuple[GPU, ...]:
    """The GPUs NVML reported in *snap* (empty when it reported none or failed)."""
    hw = snap.hardware
    if hw is None or hw.gpus.status != "ok":
        return ()
    return hw.gpus.devices


def has_gpus(snap: Snapshot) -> bool:
    """True when *snap* saw at least one NVIDIA GPU."""
    return bool(gpu_devices(snap))


def uses_gpu(env: Environment) -> bool:
    """True when something in *env* runs code on an NVIDIA GPU (a CUDA framework build, a CUDA
    package, or a CUDA library it loads)."""
    return cuda_users(env) or bool(used_components(env))


def for_gpu(findings: list[Finding], recorded: Snapshot) -> list[Finding]:
    """*findings* about the GPUs as they are, or as ``info`` when nothing the capture holds
    uses the GPU: a CPU-only job cannot fail, nor compute differently, for want of a GPU."""
    if uses_gpu(recorded.environment):
        return findings
    note = " (nothing in the capture uses the GPU)"
    return [
        Finding(**{**f.to_dict(), "severity": "info", "message": f.message + note})
        for f in findings
    ]
