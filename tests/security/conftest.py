"""Fixtures for the attacks of issue #9: real venvs with forged dist-info folders, real captures.

Every attack runs the real CLI in a subprocess (`tests.conftest.run_envsnap`) against files a
hostile author could have written.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import run_envsnap
from tests.fakes.venvs import make_venv, site_packages

Run = Callable[..., subprocess.CompletedProcess[str]]


def offline_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment with no pip configuration and a private cache under *tmp*."""
    env = {"ENVSNAP_CACHE_DIR": str(tmp / "cache"), "PIP_CONFIG_FILE": os.devnull}
    env.update(extra)
    return env


@pytest.fixture
def venv(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh venv without pip: (its python, its site-packages)."""
    python = make_venv(tmp_path / "venv")
    return python, site_packages(python)


@pytest.fixture(scope="session")
def bare_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real capture of a venv with no packages (made once; copy it before changing it)."""
    root = tmp_path_factory.mktemp("bare")
    python = make_venv(root / "venv")
    out = root / "capture"
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", str(out),
        env=offline_env(root),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def capture_copy(bare_capture: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of `bare_capture` to tamper with."""
    out = tmp_path / "capture"
    out.mkdir()
    for f in bare_capture.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    yield out


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    """The contract for anything that is not a finding: exit 2, one line, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("envsnap: error: ")]
    assert len(errors) == 1, done.stderr  # progress lines may come before it
    assert "ENVSNAP_DEBUG" not in done.stderr, done.stderr  # an anticipated error, named


def tree_text(*roots: Path) -> str:
    """Every file under *roots* as text (binary files decoded leniently), for leak searches."""
    out = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(out)
