"""The real venvs the slow tests share, built once per machine and kept between sessions.

`torch_python` (torch 2.13.0 CPU, numpy, threadpoolctl and envsnap's own dependencies) serves
the numerics battery, torchrun and the README's numerics example; `numpy_python` has numpy
alone; `ray_python` has ray. Each lives under ``$ENVSNAP_TEST_CACHE`` (default
``~/.cache/envsnap-tests``, shared by every checkout on the machine, unlike pytest's own cache)
in a folder named by a digest of what it holds (Python, requirements, the local torch wheels),
built under a lock so concurrent sessions build it once. envsnap itself comes from the tree
through PYTHONPATH, so no venv holds a stale copy. When pip cannot install a package the tests
that need it skip with pip's reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.venvs import make_venv

__all__ = ["BASE", "TORCH", "WHEELS", "numpy_python", "ray_python", "torch_python"]

TORCH = "torch==2.13.0"
BASE = ("packaging>=25.0", "py-cpuinfo>=9", "tomli-w>=1.0")  # envsnap's own (from PYTHONPATH)
WHEELS = Path(os.environ.get("ENVSNAP_TEST_WHEELS", "/opt/wheels"))


def _home() -> Path:
    base = os.environ.get("ENVSNAP_TEST_CACHE") or Path.home() / ".cache" / "envsnap-tests"
    return Path(base)


def _key(*requirements: str) -> str:
    wheels = sorted(p.name for p in WHEELS.glob("torch-*.whl")) if WHEELS.is_dir() else []
    text = "\n".join([sys.version, *requirements, *wheels])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def cached_venv(name: str, *requirements: str) -> Path:
    """The python of the venv NAME-KEY holding *requirements*, made on first use; skips the
    calling test, with pip's last line, when they cannot be installed."""
    home = _home()
    home.mkdir(parents=True, exist_ok=True)
    path = home / f"{name}-{_key(*requirements)}"
    python = path / "bin" / "python"
    with _locked(home / f"{path.name}.lock"):
        if (path / ".complete").exists():
            return python
        shutil.rmtree(path, ignore_errors=True)
        make_venv(path)
        links = ["--find-links", str(WHEELS)] if WHEELS.is_dir() else []
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *links]
        try:
            done = subprocess.run(
                [*pip, *requirements], capture_output=True, text=True, check=False, timeout=1800
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"pip did not install {' '.join(requirements)} within 30 minutes")
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
            pytest.skip(f"cannot install {' '.join(requirements)} into a test venv: {last}")
        (path / ".complete").write_text("\n".join(requirements) + "\n")
    return python


@pytest.fixture(scope="session")
def torch_python() -> Path:
    """A Python with torch 2.13.0 (CPU, from the local wheel), numpy, threadpoolctl and
    envsnap's dependencies (run envsnap in it with PYTHONPATH set to the tree)."""
    if not any(WHEELS.glob("torch-2.13.0*.whl")):
        # PyPI's torch wheel brings gigabytes of CUDA libraries; the CPU wheel is local only
        pytest.skip(f"no torch 2.13.0 CPU wheel in {WHEELS} (set ENVSNAP_TEST_WHEELS)")
    return cached_venv("torch", TORCH, "numpy", "threadpoolctl", *BASE)


@pytest.fixture(scope="session")
def numpy_python() -> Path:
    """A Python with numpy and threadpoolctl only (no torch)."""
    return cached_venv("numpy", "numpy", "threadpoolctl")


@pytest.fixture(scope="session")
def ray_python() -> Path:
    """A Python with ray and envsnap's dependencies."""
    return cached_venv("ray", "ray>=2.9", *BASE)
