"""One venv with torch (CPU) and ray for the cluster and multi-rank tests, built once and kept
between runs (fixtures `cluster_python` and `ray_python`, a plugin of tests/conftest.py).

Installing torch and ray takes a minute or two; the venv is kept under
``~/.cache/envsnap-tests`` (``$ENVSNAP_TEST_CACHE``) with a stamp naming what it holds, and
rebuilt only when that changes. envsnap itself comes from this tree through PYTHONPATH, so the
venv never holds a stale copy. Tests skip, with pip's reason, where a package cannot be had.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.venvs import make_venv, pip_install

TORCH = "torch==2.13.0"
RAY = "ray>=2.9"
# envsnap's own dependencies (envsnap comes from PYTHONPATH)
BASE = ("packaging>=25.0", "py-cpuinfo>=9", "tomli-w>=1.0")


def _home() -> Path:
    base = os.environ.get("ENVSNAP_TEST_CACHE") or Path.home() / ".cache" / "envsnap-tests"
    return Path(base) / f"cluster-venv-py{sys.version_info[0]}{sys.version_info[1]}"


def _ensure(venv: Path, package: str) -> str | None:
    """Install *package* into *venv* unless its stamp says it is there; None, or why not."""
    stamp = venv / f".installed-{package.replace('>', 'gt').replace('=', 'eq')}"
    if stamp.exists():
        return None
    if not (venv / "bin" / "python").exists():
        shutil.rmtree(venv, ignore_errors=True)
        make_venv(venv)
    try:
        pip_install(venv / "bin" / "python", package, *BASE, timeout=900)
    except (AssertionError, subprocess.TimeoutExpired) as exc:
        return f"cannot install {package}: {str(exc).strip().splitlines()[-1]}"
    stamp.write_text(package + "\n")
    return None


@pytest.fixture(scope="session")
def cluster_python() -> Path:
    """A Python with torch (CPU) and envsnap's dependencies."""
    why = _ensure(_home(), TORCH)
    if why:
        pytest.skip(why)
    return _home() / "bin" / "python"


@pytest.fixture(scope="session")
def ray_python() -> Path:
    """A Python with ray and envsnap's dependencies (the same venv as `cluster_python`)."""
    why = _ensure(_home(), RAY)
    if why:
        pytest.skip(why)
    return _home() / "bin" / "python"


def capture_with(python: Path, env: dict[str, str], out: Path) -> Path:
    """Capture *python*'s environment into *out* (offline) with *env*; the folder."""
    done = subprocess.run(
        [str(python), "-m", "envsnap", "capture", "--offline", "-q", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out
