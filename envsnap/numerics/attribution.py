"""Why a probe's bits changed: the recorded and current dispatch facts relevant to its class.

Pure. Each probe class (framework, device, kind) names the facts that can change its bits:
BLAS threads and kernel for numpy GEMM, the ATen CPU capability and thread count for torch CPU
ops, GPU model, SM count, CUDA and TF32 for CUDA GEMM, cuDNN for convolutions, the C library
for elementwise functions, the framework version for RNG streams.
"""

from __future__ import annotations

from collections.abc import Iterable

from envsnap import _redact

from .model import Numerics, ProbeResult

__all__ = ["JOB_FACTS", "LABELS", "causes", "fact_changes", "job_causes", "relevant_facts"]

# A readable name per fact (prefix match on the dotted name); others show as their name.
LABELS = {
    "blas.numpy.threads": "numpy's BLAS threads",
    "blas.numpy.architecture": "numpy's BLAS kernel (OpenBLAS core type)",
    "blas.numpy.version": "numpy's BLAS version",
    "blas.numpy.internal-api": "numpy's BLAS library",
    "numpy.version": "numpy version",
    "numpy.simd-found": "numpy SIMD dispatch",
    "numpy.simd-baseline": "numpy SIMD baseline",
    "torch.version": "torch version",
    "torch.cpu-capability": "torch CPU capability (ATen ISA)",
    "torch.threads": "torch threads",
    "torch.blas": "torch's BLAS",
    "torch.cuda": "torch's CUDA",
    "torch.cudnn": "cuDNN version",
    "torch.cublas": "cuBLAS version",
    "torch.matmul-tf32": "TF32 for matmul",
    "torch.cudnn-tf32": "TF32 for cuDNN",
    "torch.cudnn-benchmark": "cudnn.benchmark",
    "torch.cudnn-deterministic": "cudnn.deterministic",
    "torch.deterministic": "deterministic algorithms",
    "torch.float32-matmul-precision": "float32 matmul precision",
    "cpu.model": "CPU model",
    "cpu.isa": "CPU instruction sets",
    "cpu.cpus": "usable CPUs",
    "cpu.libc": "C library (libm)",
    "gpu.0.name": "GPU model",
    "gpu.0.sms": "GPU SM count",
    "gpu.0.capability": "GPU compute capability",
    "jax.version": "jax version",
    "tensorflow.version": "tensorflow version",
}

_CPU = ("cpu.model", "cpu.isa", "cpu.cpus")
_GPU = ("gpu.0.name", "gpu.0.sms", "gpu.0.capability", "torch.cuda", "torch.cublas")
_TORCH_CPU = ("torch.version", "torch.cpu-capability", "torch.threads", "torch.blas", *_CPU)
_NUMPY_SIMD = ("numpy.version", "numpy.simd-found", "numpy.simd-baseline", "cpu.isa")

_BY_CLASS: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("numpy", "cpu", "blas"): (
        "blas.numpy.threads",
        "blas.numpy.architecture",
        "blas.numpy.version",
        "blas.numpy.internal-api",
        "numpy.version",
        *_CPU,
    ),
    ("numpy", "cpu", "rng"): ("numpy.version",),
    ("numpy", "cpu", "libm"): (*_NUMPY_SIMD, "cpu.libc"),
    ("torch", "cpu", "rng"): ("torch.version",),
    ("torch", "cpu", "libm"): (*_TORCH_CPU, "cpu.libc"),
    ("torch", "cuda", "gemm"): (
        *_GPU,
        "torch.version",
        "torch.matmul-tf32",
        "torch.float32-matmul-precision",
    ),
    ("torch", "cuda", "conv"): (
        *_GPU,
        "torch.version",
        "torch.cudnn",
        "torch.cudnn-tf32",
        "torch.cudnn-benchmark",
        "torch.cudnn-deterministic",
    ),
    ("torch", "cuda", "scatter"): (*_GPU, "torch.version", "torch.deterministic"),
    ("torch", "cuda", "rng"): ("torch.version", *_GPU),
}
_BY_FRAMEWORK: dict[tuple[str, str], tuple[str, ...]] = {
    ("numpy", "cpu"): (*_NUMPY_SIMD, "blas.numpy.threads", "blas.numpy.architecture"),
    ("torch", "cpu"): _TORCH_CPU,
    ("torch", "cuda"): (*_GPU, "torch.version", "torch.deterministic"),
}


def relevant_facts(probe: ProbeResult) -> tuple[str, ...]:
    """The dispatch facts that can change *probe*'s bits."""
    device = "cuda" if probe.device.startswith("cuda") else probe.device
    found = _BY_CLASS.get((probe.framework, device, probe.kind))
    if found is None and probe.framework == "numpy" and probe.kind == "lapack":
        found = _BY_CLASS[("numpy", "cpu", "blas")]
    if found is None:
        found = _BY_FRAMEWORK.get((probe.framework, device))
    if found is None:
        found = (f"{probe.framework}.version", *_CPU, *_GPU)
    return found


def _show(value: str) -> str:
    return _redact.text(value, most=80) if value else "unset"


def fact_changes(names: Iterable[str], recorded: Numerics, current: Numerics) -> tuple[str, ...]:
    """``"label: old -> new"`` for each dispatch fact in *names* whose value differs."""
    out = []
    for name in names:
        old, new = recorded.fact(name), current.fact(name)
        if old != new:
            label = LABELS.get(name) or _redact.text(name.removeprefix("env."), most=40)
            out.append(f"{label}: {_show(old)} -> {_show(new)}")
    return tuple(out)


# What can change a whole job's results (not one probe's): every CPU and GPU dispatch fact.
JOB_FACTS = tuple(
    dict.fromkeys(
        (
            *_BY_CLASS[("numpy", "cpu", "blas")],
            *_BY_FRAMEWORK[("numpy", "cpu")],
            *_TORCH_CPU,
            *_BY_CLASS[("torch", "cuda", "gemm")],
            *_BY_CLASS[("torch", "cuda", "conv")],
            "torch.deterministic",
            "cpu.libc",
        )
    )
)


def job_causes(recorded: Numerics, current: Numerics) -> tuple[str, ...]:
    """The facts of two environments that differ and can change a job's results (`JOB_FACTS`
    and the environment variables each ran under), as ``"label: old -> new"``."""
    env = sorted({k for k, _ in (*recorded.dispatch, *current.dispatch) if k.startswith("env.")})
    return fact_changes((*JOB_FACTS, *env), recorded, current)


def causes(
    probe: ProbeResult, recorded: Numerics, current: Numerics, current_probe: ProbeResult
) -> tuple[str, ...]:
    """The relevant facts and probe settings that differ, as ``"name: old -> new"``."""
    out = list(fact_changes(relevant_facts(probe), recorded, current))
    old_settings, new_settings = dict(probe.settings), dict(current_probe.settings)
    for name in sorted(old_settings.keys() | new_settings.keys()):
        old, new = old_settings.get(name, ""), new_settings.get(name, "")
        if old != new and name.isupper():  # the environment variables the probe ran under
            out.append(f"{_redact.text(name, most=40)}: {_show(old)} -> {_show(new)}")
    return tuple(out)
