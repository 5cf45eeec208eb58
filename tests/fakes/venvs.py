"""Real venvs for the tests: made by this interpreter, filled by this interpreter's pip.

Also a pytest plugin (registered in tests/conftest.py): `torch_python` and `numpy_python` are
venvs with numpy, torch (CPU) and threadpoolctl, or numpy alone, made once and kept (keyed by
what they hold) under pytest's cache folder, for the numerics battery and the repro jobs.
torch comes from the local wheel folder (/opt/wheels, or $ENVSNAP_TEST_WHEELS); numpy and
threadpoolctl from the configured index. When they cannot be had the tests skip and say why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def make_venv(path: Path, *, pip: bool = False) -> Path:
    """Create a venv at *path*, without pip unless *pip*, and return its python."""
    args = [sys.executable, "-m", "venv", str(path)]
    subprocess.run(args if pip else [*args, "--without-pip"], check=True)
    return path / "bin" / "python"


def pip_install(
    python: Path, *args: str, env: dict[str, str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """`pip install -q *args` into *python*'s environment, run by this interpreter's pip.

    *env*, when given, is pip's whole environment. The output is captured; a failed install
    raises AssertionError with pip's stderr, so the failing test says why.
    """
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"pip install {' '.join(args)} failed:\n{done.stderr}")
    return done


def index_unavailable(*requirements: str) -> str | None:
    """Why pip cannot fetch *requirements* from its configured index now, or None when it can.

    Tests marked ``network`` skip with this reason instead of failing offline.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="envsnap-index-probe-") as tmp:
        args = ["download", "-q", "--no-deps", "--timeout", "10", "-d", tmp, *requirements]
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", *args],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"pip's index did not answer for {' '.join(requirements)}"
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return f"pip cannot fetch {' '.join(requirements)} from its index: {last}"


def site_packages(python: Path) -> Path:
    """The purelib folder of *python*, as that interpreter reports it."""
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


TORCH = "torch==2.13.0"
OTHERS = ("numpy", "threadpoolctl")
WHEELS = Path(os.environ.get("ENVSNAP_TEST_WHEELS", "/opt/wheels"))


def _home(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the venv is kept: pytest's cache folder, else a folder of this session."""
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("envsnap-numerics-venvs"))
    return tmp_path_factory.mktemp("numerics-venvs")


def _key(*parts: str) -> str:
    wheels = sorted(p.name for p in WHEELS.glob("torch-*.whl")) if WHEELS.is_dir() else []
    text = "\n".join([sys.version, *parts, *wheels])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _venv(home: Path, name: str, *requirements: str) -> Path:
    """A venv at home/NAME-KEY with *requirements*, made on first use; skip when pip fails."""
    path = home / f"{name}-{_key(*requirements)}"
    python = path / "bin" / "python"
    if (path / ".complete").exists():
        return python
    shutil.rmtree(path, ignore_errors=True)
    make_venv(path)
    links = ["--find-links", str(WHEELS)] if WHEELS.is_dir() else []
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            *links,
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        pytest.skip(f"cannot install {' '.join(requirements)} into a test venv: {last}")
    (path / ".complete").write_text("ok\n")
    return python


@pytest.fixture(scope="session")
def torch_python(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a venv with numpy, torch (CPU, from the local wheel) and threadpoolctl."""
    if not any(WHEELS.glob("torch-2.13.0*.whl")):
        # PyPI's torch wheel brings gigabytes of CUDA libraries; the CPU wheel is local only
        pytest.skip(f"no torch 2.13.0 CPU wheel in {WHEELS} (set ENVSNAP_TEST_WHEELS)")
    return _venv(_home(request.config, tmp_path_factory), "torch", TORCH, *OTHERS)


@pytest.fixture(scope="session")
def numpy_python(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a venv with numpy and threadpoolctl only (no torch)."""
    return _venv(_home(request.config, tmp_path_factory), "numpy", *OTHERS)
