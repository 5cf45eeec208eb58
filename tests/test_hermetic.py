"""The suite passes whatever the calling shell sets (issue #18, point 3): tests/fakes/hermetic.py
scrubs the allow-listed determinism variables, the launchers' and envsnap's own switches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envsnap._envvars import ALLOWLIST
from envsnap._redact import shaped
from tests.conftest import ROOT
from tests.fakes.hermetic import PREFIXES, SCRUBBED

# A value each allow-listed variable plausibly has in a user's shell (each of its recorded shape).
PLAUSIBLE = {
    "PYTHONHASHSEED": "123",
    "CUBLAS_WORKSPACE_CONFIG": ":16:8",
    "NVIDIA_TF32_OVERRIDE": "0",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1",
    "TORCH_CUDNN_V8_API_DISABLED": "1",
    "TORCH_DETERMINISTIC": "1",
    "CUDNN_DETERMINISTIC": "1",
    "TF_DETERMINISTIC_OPS": "1",
    "TF_CUDNN_DETERMINISTIC": "1",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CUDNN_USE_AUTOTUNE": "0",
    "TF_GPU_ALLOCATOR": "cuda_malloc_async",
    "XLA_FLAGS": "--xla_gpu_deterministic_ops=true",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "XLA_PYTHON_CLIENT_MEM_FRACTION": ".75",
    "JAX_ENABLE_X64": "1",
    "JAX_DEFAULT_MATMUL_PRECISION": "highest",
    "OMP_NUM_THREADS": "3",
    "MKL_NUM_THREADS": "3",
    "OPENBLAS_NUM_THREADS": "3",
    "NUMEXPR_NUM_THREADS": "3",
    "VECLIB_MAXIMUM_THREADS": "3",
    "OMP_DYNAMIC": "false",
    "KMP_AFFINITY": "granularity=fine,compact,1,0",
    "MKL_CBWR": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "MKL_DEBUG_CPU_TYPE": "5",
    "MKL_THREADING_LAYER": "GNU",
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_VERBOSE": "1",
    "NPY_DISABLE_CPU_FEATURES": "AVX512_SKX",
    "NPY_ENABLE_CPU_FEATURES": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "NCCL_ALGO": "Ring",
    "NCCL_PROTO": "Simple",
    "NCCL_NVLS_ENABLE": "0",
    "NCCL_TOPO_FILE": "/etc/nccl/topo.xml",
    "NCCL_MIN_NCHANNELS": "4",
    "NCCL_MAX_NCHANNELS": "8",
    "NCCL_IB_DISABLE": "1",
    "NCCL_P2P_DISABLE": "1",
    "CUDA_VISIBLE_DEVICES": "0,1",
    "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
    "CUDA_LAUNCH_BLOCKING": "1",
    "CUDA_MODULE_LOADING": "LAZY",
    "CUDA_FORCE_PTX_JIT": "1",
    "CUDA_CACHE_DISABLE": "1",
    "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
    "PYTORCH_NVML_BASED_CUDA_CHECK": "1",
    "TORCHINDUCTOR_FX_GRAPH_CACHE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
# A torchrun worker on a Slurm node, with envsnap's switches, a CUDA toolkit and the trackers
# (an MLflow server and run, a W&B run and project) set.
SHELL = {
    **PLAUSIBLE,
    "TF_NUM_INTRAOP_THREADS": "3",
    "RANK": "5",
    "LOCAL_RANK": "1",
    "WORLD_SIZE": "8",
    "LOCAL_WORLD_SIZE": "4",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "9",
    "TORCHELASTIC_RUN_ID": "job-1",
    "SLURM_PROCID": "2",
    "SLURM_JOB_ID": "77",
    "SLURMD_NODENAME": "node-9",
    "SOURCE_DATE_EPOCH": "0",
    "ENVSNAP_DEBUG": "1",
    "ENVSNAP_PROC_ROOT": "/nonexistent/proc",
    "CUDA_HOME": "/usr/local/cuda-12.8",
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
    "MLFLOW_RUN_ID": "0123456789abcdef0123456789abcdef",
    "WANDB_MODE": "online",
    "WANDB_RUN_ID": "someone-elses-run",
    "WANDB_PROJECT": "theirs",
    "WANDB_DIR": "/nonexistent/wandb",
    "FAKE_NVML_DRIVER": "470.0",
}
# Tests whose captures and checks would record or compare any of them: the two that failed
# with OPENBLAS_CORETYPE set (issue #18), capture and check through the CLI, determinism rules,
# fleet node names, the trackers' runs, repro's settings and records.
SUBSET = (
    "tests/security/test_output.py",
    "tests/test_capture_cli.py",
    "tests/test_check_cli.py",
    "tests/checks/test_determinism.py",
    "tests/fleet/test_node.py",
    "tests/test_mlflow.py",
    "tests/test_wandb.py",
    "tests/repro/test_units.py",
    "tests/repro/test_repro_cli.py",
)


def test_every_allow_listed_variable_has_a_plausible_value() -> None:
    assert set(PLAUSIBLE) == ALLOWLIST
    assert [k for k, v in PLAUSIBLE.items() if not shaped(k, v)] == []


def test_this_process_runs_without_them() -> None:
    # ENVSNAP_CACHE_DIR comes back per test: conftest's private cache
    assert sorted(SCRUBBED & os.environ.keys()) == ["ENVSNAP_CACHE_DIR"]
    assert not [k for k in os.environ if k.startswith(PREFIXES)]
    assert set(SHELL) <= SCRUBBED | {k for k in SHELL if k.startswith(PREFIXES)}


@pytest.mark.slow
def test_a_subset_passes_in_a_shell_that_sets_every_variable() -> None:
    """The suite, started from a shell that sets them all, scrubs them itself."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SUBSET],
        cwd=ROOT,
        env={**os.environ, **SHELL},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
