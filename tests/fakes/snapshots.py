"""Builders of realistic model objects for the rule tests: a recorded 8xA100 training box."""

from __future__ import annotations

from typing import Any

from envsnap import model
from envsnap.model import (
    CPU,
    GPU,
    BlasInfo,
    Component,
    CudaStack,
    Environment,
    FrameworkBuild,
    GPUs,
    Hardware,
    Memory,
    OSInfo,
    Package,
    PythonInfo,
    Snapshot,
)

GIB = 1024**3
TORCH_ARCH = ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
AVX512_FLAGS = [
    "sse4_1",
    "sse4_2",
    "ssse3",
    "popcnt",
    "cx16",
    "lahf_lm",
    "avx",
    "avx2",
    "bmi1",
    "bmi2",
    "f16c",
    "fma",
    "abm",
    "movbe",
    "xsave",
    "avx512f",
    "avx512bw",
    "avx512cd",
    "avx512dq",
    "avx512vl",
]
AVX2_FLAGS = AVX512_FLAGS[: AVX512_FLAGS.index("avx512f")]


def gpu(index: int = 0, name: str = "NVIDIA A100-SXM4-80GB", cc: str = "8.0", **kw: Any) -> GPU:
    """One GPU (default: A100 80GB)."""
    fields: dict[str, Any] = {
        "uuid": f"GPU-{index:08d}",
        "memory_total_bytes": 81920 * 1024**2,
        "architecture": "Ampere",
        "mig_mode": False,
        "ecc_mode": True,
        "multiprocessor_count": 108,
    }
    fields.update(kw)
    return GPU(index=index, name=name, compute_capability=cc, **fields)


def gpus(n: int = 8, driver: str = "535.104.05", cuda: str | None = "12.2", **kw: Any) -> GPUs:
    """*n* identical GPUs with NVML answering."""
    return GPUs(
        status="ok",
        driver_version=driver,
        cuda_driver_version=cuda,
        devices=tuple(gpu(i, **kw) for i in range(n)),
    )


def environment(**kw: Any) -> Environment:
    """The recorded software: CPython 3.11.7, torch 2.2.0+cu121, numpy on OpenBLAS."""
    fields: dict[str, Any] = {
        "python": PythonInfo("CPython", "3.11.7", soabi="cpython-311-x86_64-linux-gnu"),
        "os": OSInfo(
            "Linux",
            "x86_64",
            distro="debian",
            version="12",
            pretty_name="Debian GNU/Linux 12 (bookworm)",
            libc="glibc",
            libc_version="2.36",
        ),
        "packages": (
            Package(
                "numpy", "1.26.4", source="index", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)
            ),
            Package(
                "torch", "2.2.0", source="index", wheel_tags=("cp311-cp311-manylinux1_x86_64",)
            ),
            Package(
                "nvidia-cudnn-cu12",
                "8.9.2.26",
                source="index",
                wheel_tags=("py3-none-manylinux1_x86_64",),
            ),
        ),
        "cuda": CudaStack(
            frameworks=(FrameworkBuild("torch", "2.2.0", cuda="12.1", arch_list=TORCH_ARCH),),
            components=(
                Component("cuda-runtime", "12.1.105", "nvidia-cuda-runtime-cu12"),
                Component("cudnn", "8.9.2", "nvidia-cudnn-cu12"),
                Component("nccl", "2.19.3", "nvidia-nccl-cu12"),
            ),
        ),
        "blas": (BlasInfo("numpy", "scipy-openblas", "0.3.23"),),
        "envvars": (("CUBLAS_WORKSPACE_CONFIG", ":4096:8"), ("PYTHONHASHSEED", "0")),
    }
    fields.update(kw)
    return Environment(**fields)


def hardware(**kw: Any) -> Hardware:
    """The recorded machine: 8xA100 80GB, driver 535.104.05, Intel AVX-512, 1 TiB RAM."""
    fields: dict[str, Any] = {
        "cpu": CPU(
            "x86_64",
            vendor="GenuineIntel",
            model_name="Intel Xeon Platinum 8480+",
            flags=tuple(AVX512_FLAGS),
        ),
        "gpus": gpus(),
        "memory": Memory(total_bytes=1024 * GIB, numa_nodes=2),
    }
    fields.update(kw)
    return Hardware(**fields)


def snapshot(env: dict[str, Any] | None = None, hw: dict[str, Any] | None = None) -> Snapshot:
    """A snapshot with the given field overrides."""
    return Snapshot(environment=environment(**(env or {})), hardware=hardware(**(hw or {})))


def with_envvars(snap: Snapshot, **variables: str | None) -> Snapshot:
    """*snap* with variables set (a value) or removed (None)."""
    current = dict(snap.environment.envvars)
    for key, value in variables.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    env = model.replace(snap.environment, envvars=tuple(sorted(current.items())))
    return model.replace(snap, environment=env)


def codes(findings: Any) -> set[tuple[str, str]]:
    """{(severity, code)} of *findings* (a list or a CheckReport)."""
    items = getattr(findings, "findings", findings)
    return {(f.severity, f.code) for f in items}
