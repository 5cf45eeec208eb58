"""`envsnap rebuild --venv`: the exact interpreter, and a round trip back to the same packages."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from envsnap import model
from envsnap.formats import pylock
from tests.fakes import samples
from tests.fakes.projects import git, make_project
from tests.fakes.venvs import index_unavailable, make_venv, pip_install

CLI = Callable[..., subprocess.CompletedProcess[str]]
HERE = "{}.{}.{}".format(*sys.version_info[:3])
OTHER = Path.home() / ".pyenv" / "versions" / "3.12.1" / "bin" / "python"


def capture_of(cli: CLI, python: Path, out: Path) -> list[tuple[str, str, str]]:
    done = cli("capture", "--python", str(python), "-o", str(out), "--offline")
    assert done.returncode == 0, done.stderr
    env = pylock.load(out / "pylock.toml")
    return sorted((p.name, p.version, p.source) for p in env.packages)


def test_refuses_another_python_and_names_the_one_to_use(cli: CLI, tmp_path: Path) -> None:
    if not OTHER.exists():
        pytest.skip(f"{OTHER} not installed")
    cap = tmp_path / "cap"
    pylock.write(cap / "pylock.toml", samples.cpu_env())  # recorded Python 3.11.7
    done = cli("rebuild", str(cap), "--venv", str(tmp_path / "v"), "--python", str(OTHER))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == (
        f"envsnap: error: {OTHER} is Python 3.12.1, but the capture was made with Python "
        "3.11.7; the venv must use exactly 3.11.7"
    )
    assert lines[1].startswith("  hint: rerun with --python /") or "uv python install" in lines[1]
    assert not (tmp_path / "v").exists()


def test_refuses_when_no_interpreter_matches(cli: CLI, tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    env = samples.cpu_env()
    pylock.write(cap / "pylock.toml", model.replace(env, python=samples.python("3.99.1")))
    done = cli("rebuild", str(cap), "--venv", str(tmp_path / "v"))
    assert done.returncode == 2
    assert done.stderr == (
        f"envsnap: error: {sys.executable} is Python {HERE}, but the capture was made with "
        "Python 3.99.1; the venv must use exactly 3.99.1\n"
        "  hint: install Python 3.99.1 (e.g. `uv python install 3.99.1`) and pass --python "
        "with its path\n"
    )


def test_refuses_a_non_empty_target(cli: CLI, tmp_path: Path) -> None:
    if HERE != "3.11.7":
        pytest.skip("the sample capture records Python 3.11.7")
    cap = tmp_path / "cap"
    pylock.write(cap / "pylock.toml", samples.cpu_env())
    target = tmp_path / "v"
    target.mkdir()
    (target / "x").write_text("")
    done = cli("rebuild", str(cap), "--venv", str(target))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"envsnap: error: {target}: --venv exists and is not empty",
        f"  hint: remove it first (rm -rf {target}) or choose another --venv PATH; an "
        "interrupted rebuild leaves nothing there",
    ]


@pytest.mark.slow
def test_round_trip_local_and_editable_packages_offline(cli: CLI, tmp_path: Path) -> None:
    """venv → capture → rebuild --venv → capture: the same packages and sources, no index."""
    plain = make_project(tmp_path / "src" / "plainpkg", "plainpkg", "1.2")
    editable = make_project(tmp_path / "src" / "editpkg", "editpkg", "0.3")
    repo = make_project(tmp_path / "src" / "gitpkg", "gitpkg", "2.0")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    python = make_venv(tmp_path / "orig")
    offline = ("--no-deps", "--no-index")
    pip_install(python, *offline, str(plain))
    pip_install(python, *offline, "--no-build-isolation", "-e", str(editable))
    pip_install(python, *offline, f"gitpkg @ git+{repo.as_uri()}@{git(repo, 'rev-parse', 'HEAD')}")
    before = capture_of(cli, python, tmp_path / "cap")
    assert before == [
        ("editpkg", "0.3", "editable"),
        ("gitpkg", "2.0", "vcs"),
        ("plainpkg", "1.2", "directory"),
    ]
    # the user names each package whose code may run here (issue #9)
    allow = [arg for name in ("editpkg", "gitpkg", "plainpkg") for arg in ("--build-on-host", name)]
    done = cli("rebuild", str(tmp_path / "cap"), "--venv", str(tmp_path / "copy"), *allow)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"rebuilt 3 packages into {tmp_path / 'copy'}\n"
    after = capture_of(cli, tmp_path / "copy" / "bin" / "python", tmp_path / "cap2")
    assert after == before


@pytest.mark.slow
@pytest.mark.network
def test_round_trip_index_packages(cli: CLI, tmp_path: Path) -> None:
    """Packages from the index come back at the same versions and from the same files."""
    reason = index_unavailable("six==1.17.0", "idna==3.10")
    if reason is not None:
        pytest.skip(reason)
    python = make_venv(tmp_path / "orig")
    pip_install(python, "--no-deps", "six==1.17.0", "idna==3.10")
    cap = tmp_path / "cap"
    done = cli("capture", "--python", str(python), "-o", str(cap))
    assert done.returncode == 0, done.stderr
    before = sorted(
        (p.name, p.version, p.source) for p in pylock.load(cap / "pylock.toml").packages
    )
    done = cli("rebuild", str(cap), "--venv", str(tmp_path / "copy"))
    assert done.returncode == 0, done.stderr
    after = capture_of(cli, tmp_path / "copy" / "bin" / "python", tmp_path / "cap2")
    assert after == before
    assert [p[:2] for p in after] == [("idna", "3.10"), ("six", "1.17.0")]


# The in-tree backend, slowed down while the file SLOW exists in the project: the build starts,
# says so in a marker, and waits to be interrupted.
SLOW_BACKEND = """
import pathlib, time
from backend import *  # noqa: F403 - the real in-tree backend
from backend import build_wheel as _build_wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if pathlib.Path("SLOW").exists():
        pathlib.Path({marker!r}).write_text("building")
        time.sleep(120)
    return _build_wheel(wheel_directory, config_settings, metadata_directory)
"""


def _slow_project(root: Path, marker: Path) -> Path:
    src = make_project(root, "slowpkg", "1.0")
    (src / "slow_backend.py").write_text(SLOW_BACKEND.format(marker=str(marker)))
    pyproject = (src / "pyproject.toml").read_text()
    (src / "pyproject.toml").write_text(pyproject.replace('"backend"', '"slow_backend"'))
    (src / "ENTRY_POINTS").write_text("[console_scripts]\nslowpkg-hello = slowpkg:main\n")
    return src


@pytest.mark.slow
def test_ctrl_c_leaves_no_venv_and_the_next_run_makes_a_working_one(
    cli: CLI, tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) while a package builds:
    exit 130, no venv and no temporary folder; the next run succeeds, and the venv's console
    script and activate name its own path (it was made in a temporary folder beside it)."""
    import os
    import signal
    import time

    from tests.conftest import ROOT

    marker = tmp_path / "building"
    src = _slow_project(tmp_path / "src" / "slowpkg", marker)
    python = make_venv(tmp_path / "orig")
    pip_install(python, "--no-deps", "--no-index", str(src))
    capture_of(cli, python, tmp_path / "cap")
    target = tmp_path / "envs" / "rebuilt"
    (src / "SLOW").write_text("")
    args = ["rebuild", str(tmp_path / "cap"), "--venv", str(target), "--build-on-host", "slowpkg"]
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", *args],
        env=environ,
        start_new_session=True,  # a process group of its own, like a terminal's foreground job
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), "the build never started"
        (building,) = target.parent.iterdir()  # the venv is made beside the target
        assert building.name.startswith(".rebuilt.envsnap-")
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(target.parent.iterdir()) == []  # neither the venv nor its temporary folder
    (src / "SLOW").unlink()
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"rebuilt 1 package into {target}\n"
    assert [p.name for p in target.parent.iterdir()] == ["rebuilt"]
    script = target / "bin" / "slowpkg-hello"
    assert script.read_text().startswith(f"#!{target}/bin/python")
    ran = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    assert (ran.returncode, ran.stdout) == (0, "slowpkg 1.0\n"), ran.stderr
    activate = (target / "bin" / "activate").read_text()
    assert str(target) in activate and "envsnap-" not in activate
    assert "envsnap-" not in (target / "pyvenv.cfg").read_text()
    # A killed run's folder (its process gone) is removed by the next run; the target is new.
    leftover = target.parent / ".other.envsnap-0123456789abcdef"
    leftover.mkdir()
    (leftover / ".envsnap-building").write_text("999999999\n")
    done = cli(*args[:3], str(target.parent / "other"), *args[4:])
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in target.parent.iterdir()) == ["other", "rebuilt"]
