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
    assert done.stderr.startswith(f"envsnap: error: {target}: --venv exists and is not empty")


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
