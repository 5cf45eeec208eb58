"""Issue #17, classes 1 and 7: no process envsnap starts on this machine runs a stranger's code.

- A numerics.toml's recorded settings become the environment of the re-run battery only for
  allow-listed variables in their shape: a capture's PYTHONPATH never reaches it, so the
  `sitecustomize.py` the capture ships never runs (`check --numerics` and the API alike).
- `--python NAME` and the programs envsnap looks for (nvcc) are found on PATH, never in the
  current folder, even when PATH has an empty entry.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import envsnap
from tests.conftest import run_envsnap
from tests.fakes.venvs import make_venv
from tests.security.conftest import offline_env


def _marker_script(path: Path, marker: Path, then: str = "") -> None:
    path.write_text(f'#!/bin/sh\ntouch "{marker}"\n{then}\n')
    path.chmod(0o755)


@pytest.fixture
def hostile_numerics(numpy_python: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A real numerics capture whose first probe differs here and says it ran under a
    PYTHONPATH inside the capture, where a sitecustomize.py would leave a marker."""
    cap = tmp_path / "cap"
    done = run_envsnap(
        "capture", "--offline", "-q", "--numerics", "--python", str(numpy_python),
        "-o", str(cap), env=offline_env(tmp_path), timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    marker = tmp_path / "PWNED"
    evil = cap / "evil"
    evil.mkdir()
    (evil / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    path = cap / "numerics.toml"
    text = path.read_text()
    first = re.search(r'\[\[probes\]\]\nid = "([^"]+)"\n', text)
    assert first is not None, text
    # the first probe: another digest (so it differs here) and the variables it "ran under"
    start = first.end()
    zero = f'sha256 = "{"0" * 64}"'
    text = text[:start] + re.sub(r'sha256 = "[0-9a-f]{64}"', zero, text[start:], count=1)
    settings = re.compile(r"(\[probes\.settings\]\n)")
    assert settings.search(text, start), text
    text = text[:start] + settings.sub(
        rf'\1PYTHONPATH = "{evil}"\nLD_PRELOAD = "{evil}/x.so"\n', text[start:], count=1
    )
    path.write_text(text)
    return cap, marker


@pytest.mark.slow  # a venv with numpy, and the battery run three times
def test_check_numerics_never_sets_a_captures_pythonpath(
    hostile_numerics: tuple[Path, Path],
    numpy_python: Path,
    tmp_path: Path,
) -> None:
    cap, marker = hostile_numerics
    done = run_envsnap(
        "check", str(cap), "--numerics", "--python", str(numpy_python),
        env=offline_env(tmp_path), timeout=900,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert not marker.exists(), "the capture's sitecustomize.py ran"
    fixes = [ln for ln in done.stdout.splitlines() if "fix:" in ln]
    assert fixes and not any("PYTHONPATH" in f or "LD_PRELOAD" in f for f in fixes), fixes


@pytest.mark.slow
def test_the_check_api_never_sets_a_captures_pythonpath(
    hostile_numerics: tuple[Path, Path],
    numpy_python: Path,
) -> None:
    cap, marker = hostile_numerics
    report = envsnap.check(cap, python=str(numpy_python), numerics=True)
    assert report.numerics is not None
    assert not marker.exists(), "the capture's sitecustomize.py ran"


def test_a_bare_python_name_is_never_the_one_in_the_current_folder(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    marker = tmp_path / "PWNED"
    _marker_script(here / "python3", marker, "exit 1")
    out = tmp_path / "cap"
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", "python3", "-o", str(out),
        env={**offline_env(tmp_path), "PATH": os.pathsep + os.environ["PATH"]}, cwd=here,
    )  # fmt: skip
    assert not marker.exists(), "./python3 ran"
    assert done.returncode == 0, done.stderr


def test_a_python_path_with_a_slash_is_used_as_given(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    out = tmp_path / "cap"
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", "./venv/bin/python", "-o", str(out),
        env=offline_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert python.exists()


def test_nvcc_is_never_the_one_in_the_current_folder(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    marker = tmp_path / "PWNED"
    _marker_script(here / "nvcc", marker)
    python = make_venv(tmp_path / "venv")
    out = tmp_path / "cap"
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", str(out),
        env={**offline_env(tmp_path), "PATH": os.pathsep + os.environ["PATH"]}, cwd=here,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), "./nvcc ran"
