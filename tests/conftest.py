"""Shared fixtures: run the real CLI in a subprocess; fakes live in tests/fakes/."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.fakes.hermetic import scrub

# Before any fixture or plugin reads it: the suite runs in a plain environment whatever the
# calling shell sets (OPENBLAS_CORETYPE, OMP_NUM_THREADS, RANK...); children inherit it.
scrub(os.environ)

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = [
    "tests.fakes.nvml",
    "tests.fakes.sitepackages",
    "tests.fakes.docker",
    "tests.fakes.cachedvenvs",
    "tests.fakes.trackers",
    "tests.fakes.condachannel",
]


def run_envsnap(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m envsnap ARGS` in a subprocess and return the completed process."""
    full_env = dict(os.environ)
    full_env.pop("PYTHONHASHSEED", None)
    full_env["PYTHONPATH"] = str(ROOT)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own envsnap cache: none reads or fills the user's ~/.cache."""
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "envsnap-cache"))


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The real CLI in a subprocess: ``cli("capture", "-o", str(tmp), env={...})``."""
    return run_envsnap
