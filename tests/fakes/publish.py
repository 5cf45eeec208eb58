"""A GPU snapshot, numerics.toml text and a repro.toml for the publish and MLflow tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

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


def write_repro(
    cap: Path,
    *,
    reproducible: bool = True,
    summary: str = "reproducible: 2 runs, 1 output, 4 tensors bit-identical",
    lock_digest: str | None = None,
    numerics_digest: str = "",
) -> Path:
    """A repro.toml in capture *cap*, as `envsnap repro` writes it (recorded with this
    capture's lock unless *lock_digest* says otherwise)."""
    from envsnap.formats import repro

    lock = lock_digest or "sha256:" + hashlib.sha256((cap / "pylock.toml").read_bytes()).hexdigest()
    rec = repro.ReproRecord(
        reproducible=reproducible,
        summary=summary,
        command=("python", "train.py"),
        runs=2,
        lock_digest=lock,
        numerics_digest=numerics_digest,
        outputs=(
            repro.OutputRecord("model.safetensors", "safetensors", reproducible, ("a" * 64,) * 2),
        ),
        environments=(("this machine", "host"),),
    )
    return repro.write(cap, rec)
