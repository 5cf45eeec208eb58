"""A GPU snapshot and numerics.toml text for the publish and MLflow tests."""

from __future__ import annotations

from envsnap.model import Memory, Snapshot
from tests.fakes import samples, snapshots

GIB = 1024**3


def gpu_snapshot(n: int = 2) -> Snapshot:
    """torch 2.8 on CUDA wheels, 2 A100s, driver 535 (CUDA 12.2), a 64 GB machine (62.8 GiB
    usable), AVX-512."""
    hw = snapshots.hardware(gpus=snapshots.gpus(n), memory=Memory(int(62.8 * GIB), 1))
    return Snapshot(environment=samples.pip_cuda_env(), hardware=hw)


NUMERICS = """\
version = 1
battery-version = "2026.11"

[[probes]]
id = "matmul-fp32"
sha256 = "{b}"

[[probes]]
id = "conv2d-fp16"
sha256 = "{a}"
""".format(a="a" * 64, b="b" * 64)
