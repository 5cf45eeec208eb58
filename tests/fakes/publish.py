"""Snapshots, capture folders, numerics.toml text and repro.toml for the publish and tracker
tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from envsnap.formats import image
from envsnap.formats.capture import write
from envsnap.formats.project import ProjectState
from envsnap.model import Memory, Snapshot, replace
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


COMMIT = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "c" * 64
PUSHED = f"registry.example:5000/team/train@{DIGEST}"


def cpu_snapshot() -> Snapshot:
    hw = snapshots.hardware(
        gpus=replace(snapshots.gpus(0), status="none", reason="no NVIDIA driver"),
        memory=Memory(int(15.5 * GIB), 1),
        cpu=replace(snapshots.hardware().cpu, flags=tuple(snapshots.AVX2_FLAGS)),
    )
    return Snapshot(environment=samples.cpu_env(), hardware=hw)


def make_capture(
    root: Path,
    snap: Snapshot,
    *,
    project: ProjectState | None = None,
    pushed: bool = False,
    numerics: str | None = None,
    repro: bool = False,
) -> Path:
    cap = root / "cap"
    write(snap, cap, project=project)
    if repro:
        write_repro(cap)
    if pushed:
        lock = hashlib.sha256((cap / "pylock.toml").read_bytes()).hexdigest()
        record = image.ImageRecord(
            image_id="sha256:" + "d" * 64,
            base_image="python:3.11.7-slim-bookworm",
            tag="train:1",
            lock_digest=f"sha256:{lock}",
            pushed="registry.example:5000/team/train:1",
            pushed_digest=PUSHED,
        )
        image.write(cap / "image.toml", record)
    if numerics is not None:
        (cap / "numerics.toml").write_text(numerics, encoding="utf-8")
    return cap


CLEAN = ProjectState(
    status="ok",
    vcs="git",
    remote="https://github.com/example/project.git",
    commit=COMMIT,
    branch="main",
)


def boxes(text: str) -> dict[str, bool]:
    """Each generated checklist line's subject (before the colon) → ticked."""
    out = {}
    for line in text.splitlines():
        if line.startswith(("- [x] ", "- [ ] ")):
            out[line[6:].split(":")[0]] = line.startswith("- [x]")
    return out


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
