"""Round trip: capture a real venv, rebuild it from pylock.toml / requirements.txt, capture again.

uv installs every kind from pylock.toml. pip 26.3 reads pylock.toml too (experimentally) but
turns hash-checking on for the whole file, and pip cannot hash a folder, an editable or a VCS
checkout; so pip gets the lock split in a hashed and a direct part. requirements.txt installs
the hashable packages (the others are comments in it).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from envsnap import model
from envsnap.formats import pylock
from tests.fakes.sitepackages import make_project, make_wheel
from tests.fakes.venvs import make_venv, pip_install

pytestmark = pytest.mark.slow

HASHABLE = ("index", "url")


def _pypi_reachable() -> bool:
    try:
        request = urllib.request.Request(
            "https://pypi.org/simple/six/", headers={"Accept": "text/html"}
        )
        with urllib.request.urlopen(request, timeout=5, context=ssl.create_default_context()):
            return True
    except OSError:
        return False


def _capture(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    python: Path,
    out: Path,
    env: dict[str, str],
) -> set[tuple[str, str]]:
    done = cli("capture", "-q", "-o", str(out), "--python", str(python), env=env)
    assert done.returncode == 0, done.stderr
    return {(p.name, p.version) for p in pylock.load(out / "pylock.toml").packages}


@pytest.fixture
def source_env(tmp_path: Path) -> tuple[Path, dict[str, str], set[str]]:
    """A venv with find-links wheels, a folder, an editable, a git checkout (and six from PyPI)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    links = tmp_path / "links"
    make_wheel(links, "alpha", "1.0+cpu", requires=["beta"])
    make_wheel(links, "beta", "2.0")
    folder = make_project(tmp_path / "src" / "folder", "folder-pkg", "3.0")
    editable = make_project(tmp_path / "src" / "editable", "edit-pkg", "4.0")
    repo = make_project(tmp_path / "src" / "repo", "git-pkg", "5.0")
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    who = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, *who, "commit", "-qm", "init"], check=True)
    env = {
        **os.environ,
        "ENVSNAP_CACHE_DIR": str(tmp_path / "cache"),
        "PIP_FIND_LINKS": str(links),
    }
    wanted = ["alpha", str(folder), "-e", str(editable), f"git+{repo.as_uri()}"]
    names = {"alpha", "beta", "folder-pkg", "edit-pkg", "git-pkg"}
    if _pypi_reachable():
        wanted.append("six==1.17.0")
        names.add("six")
    else:
        env["PIP_NO_INDEX"] = "1"
    python = make_venv(tmp_path / "source")
    pip_install(python, *wanted, env=env)
    return python, env, names


def test_capture_then_install_with_uv_pip_and_requirements(
    source_env: tuple[Path, dict[str, str], set[str]], tmp_path: Path, cli
) -> None:
    python, env, names = source_env
    out = tmp_path / "captured"
    original = _capture(cli, python, out, env)
    assert {n for n, _ in original} == names
    assert ("alpha", "1.0+cpu") in original
    env_lock = pylock.load(out / "pylock.toml")
    assert env_lock.unhashed == ()

    # uv: everything, straight from pylock.toml (file:// wheel URLs, folders, git, editable).
    uv = Path(sys.executable).with_name("uv")
    fresh = make_venv(tmp_path / "by-uv")
    done = subprocess.run(
        [str(uv), "pip", "install", "--python", str(fresh), "-r", str(out / "pylock.toml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _capture(cli, fresh, tmp_path / "again-uv", env) == original

    # pip >= 26 reads pylock.toml, but one hashed package turns hash-checking on for the whole
    # file, and pip cannot hash a folder, an editable or a VCS checkout. So pip gets the lock in
    # two PEP 751 files, pylock.hashed.toml and pylock.direct.toml, one install each.
    hashable = {(p.name, p.version) for p in env_lock.packages if p.source in HASHABLE}
    assert {n for n, _ in hashable} == names - {"folder-pkg", "edit-pkg", "git-pkg"}
    fresh = make_venv(tmp_path / "by-pip")
    for part, keep in (("hashed", True), ("direct", False)):
        path = tmp_path / "split" / f"pylock.{part}.toml"
        pkgs = tuple(p for p in env_lock.packages if (p.source in HASHABLE) == keep)
        pylock.write(path, model.replace(env_lock, packages=pkgs))
        pip_install(fresh, "-r", str(path), env=env)
    assert _capture(cli, fresh, tmp_path / "again-pip", env) == original

    # requirements.txt in hash-checking mode, with no other source configured than its own.
    fresh = make_venv(tmp_path / "by-requirements")
    bare = {**env, "PIP_FIND_LINKS": ""}
    pip_install(
        fresh, "--require-hashes", "--no-deps", "-r", str(out / "requirements.txt"), env=bare
    )
    assert _capture(cli, fresh, tmp_path / "again-req", env) == hashable
