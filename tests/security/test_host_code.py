"""Issue 17, class 1 (and class 7's --build-on-host): no code from a capture or a cache runs on
this machine unless the user names it, and the capture's own project needs no name.

Each attack runs the real CLI on real files: sdists whose build backend leaves a marker when it
is imported (any build would import it), a store of verified files in folders of real modes
and owners, real git work trees.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from envsnap._io import file_sha256
from tests.conftest import run_envsnap
from tests.fakes.projects import git, make_project
from tests.fakes.sandbox import add_packages
from tests.fakes.venvs import make_venv, pip_install
from tests.security.conftest import no_traceback, offline_env

# Imported by every PEP 517 hook: a marker file means the sdist's code ran here.
MARKING_BACKEND = """
import pathlib
pathlib.Path({marker!r}).write_text("ran on this machine")
from backend import *  # noqa: F403
"""


def marking_sdist(folder: Path, name: str, marker: Path) -> Path:
    """A real sdist ``NAME-1.0.tar.gz`` whose backend writes *marker* when imported."""
    src = make_project(folder / "src" / f"{name}-1.0", name, "1.0")
    (src / "marking.py").write_text(MARKING_BACKEND.format(marker=str(marker)))
    pyproject = (src / "pyproject.toml").read_text()
    (src / "pyproject.toml").write_text(pyproject.replace('"backend"', '"marking"'))
    (src / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    path = folder / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        tf.add(src, arcname=f"{name}-1.0")
    return path


def sdist_table(name: str, path: str, sha256: str) -> str:
    return (
        f'[[packages]]\nname = "{name}"\nversion = "1.0"\nindex = "https://pypi.org/simple"\n'
        f'sdist = {{ name = "{name}-1.0.tar.gz", path = "{path}", '
        f'hashes = {{ sha256 = "{sha256}" }} }}\n\n'
        '[packages.tool.envsnap]\nsource = "index"\nrequested = true\n'
    )


def test_a_locked_sdist_inside_the_capture_is_never_built_here(
    capture_copy: Path, tmp_path: Path
) -> None:
    """`path = …` into the capture: the image builds it in its isolated build (the context
    holds the sdist as locked); a venv, which would build it here, refuses it."""
    marker = tmp_path / "PWNED"
    sdist = marking_sdist(capture_copy, "evil", marker)
    add_packages(capture_copy, sdist_table("evil", sdist.name, file_sha256(sdist)))
    ctx = tmp_path / "ctx"
    env = offline_env(tmp_path)
    done = run_envsnap("rebuild", str(capture_copy), "--no-build", "--context", str(ctx), env=env)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert (ctx / "layers" / "local" / sdist.name).read_bytes() == sdist.read_bytes()
    assert not list(ctx.rglob("evil-*.whl"))
    for extra in ([], ["--build-on-host", "evil"]):
        venv = run_envsnap(
            "rebuild", str(capture_copy), "--venv", str(tmp_path / "v"), *extra, env=env
        )
        no_traceback(venv)
        assert ("inside the capture" if extra else "--build-on-host evil") in venv.stderr
        assert not marker.exists()
        assert not (tmp_path / "v").exists()


def _poison(store: Path, sha256: str, evil: Path, *, mode: int, owner: int | None) -> None:
    entry = store / "files" / sha256[:2] / sha256
    entry.parent.mkdir(parents=True)
    entry.write_bytes(evil.read_bytes())
    for folder in (store, store / "files", entry.parent):
        folder.chmod(mode)
        if owner is not None:
            os.chown(folder, owner, owner)


@pytest.mark.parametrize(
    ("mode", "owner", "why"),
    [
        (0o777, None, "is writable by others (mode 0777)"),
        (0o775, None, "is writable by others (mode 0775)"),
        (0o755, 12345, "belongs to another user (uid 12345)"),
    ],
)
def test_a_store_another_user_can_write_is_ignored(
    capture_copy: Path, tmp_path: Path, mode: int, owner: int | None, why: str
) -> None:
    """A poisoned entry under the locked hash, in a store another user could have written:
    the store is ignored (said once), the real file is hashed and shipped, nothing runs here."""
    if owner is not None and os.getuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    marker = tmp_path / "PWNED"
    good = marking_sdist(tmp_path / "links", "good", tmp_path / "GOOD-RAN")
    evil = marking_sdist(tmp_path / "evil", "good", marker)
    sha = file_sha256(good)
    add_packages(capture_copy, sdist_table("good", str(good), sha))
    shared = tmp_path / "shared-cache"
    _poison(shared, sha, evil, mode=mode, owner=owner)
    ctx = tmp_path / "ctx"
    env = offline_env(tmp_path, ENVSNAP_CACHE_DIR=str(shared))
    done = run_envsnap("rebuild", str(capture_copy), "--no-build", "--context", str(ctx), env=env)
    assert done.returncode == 0, done.stderr
    assert not marker.exists() and not (tmp_path / "GOOD-RAN").exists()
    assert file_sha256(ctx / "layers" / "local" / good.name) == sha
    said = [ln for ln in done.stderr.splitlines() if "ignoring the store of verified files" in ln]
    assert len(said) == 1, done.stderr
    assert why in said[0] and str(shared / "files") in said[0]


def test_a_private_store_serves_its_entry_without_hashing_the_host_file_again(
    capture_copy: Path, tmp_path: Path
) -> None:
    """The same store, this user's and 0700: the entry is used (the host file may change)."""
    good = marking_sdist(tmp_path / "links", "good", tmp_path / "GOOD-RAN")
    sha = file_sha256(good)
    add_packages(capture_copy, sdist_table("good", str(good), sha))
    env = offline_env(tmp_path)
    first = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "a"), env=env
    )
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "cache" / "files" / sha[:2] / sha).is_file()
    good.write_bytes(b"changed after it was verified")
    second = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "b"), env=env
    )
    assert second.returncode == 0, second.stderr
    assert file_sha256(tmp_path / "b" / "layers" / "local" / good.name) == sha
    assert "ignoring" not in second.stderr


def _editable(name: str, path: Path) -> str:
    return (
        f'[[packages]]\nname = "{name}"\nversion = "0.1"\n'
        f'directory = {{ path = "{path}", editable = true }}\n\n'
        '[packages.tool.envsnap]\nsource = "editable"\nrequested = true\n'
    )


def test_build_on_host_says_the_resolved_folder_it_trusts(
    capture_copy: Path, tmp_path: Path
) -> None:
    real = make_project(tmp_path / "real" / "mypkg", "mypkg", "0.1")
    link = tmp_path / "via-link"
    link.symlink_to(real.parent)
    add_packages(capture_copy, _editable("mypkg", link / "mypkg"))
    env = offline_env(tmp_path)
    args = ("rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "ctx"))
    refused = run_envsnap(*args, env=env)
    no_traceback(refused)
    assert "--build-on-host mypkg" in refused.stderr
    assert "nor the capture's own project" in refused.stderr
    done = run_envsnap(*args, "--build-on-host", "mypkg", env=env)
    assert done.returncode == 0, done.stderr
    assert (
        f"envsnap: --build-on-host mypkg: using the folder {real} (copied into the build context)\n"
    ) in done.stderr
    unknown = run_envsnap(*args, "--build-on-host", "mypkg", "--build-on-host", "nope", env=env)
    no_traceback(unknown)
    assert "--build-on-host nope: no such package" in unknown.stderr


@pytest.fixture
def own_project(tmp_path: Path) -> tuple[Path, Path]:
    """A git work tree whose project is installed editable into a venv, captured from the
    work tree (as `make run` does): (the work tree, the capture)."""
    repo = make_project(tmp_path / "repo", "ownpkg", "0.1")
    (repo / ".gitignore").write_text("/.venv/\n/envsnap-capture/\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    python = make_venv(repo / ".venv")
    pip_install(python, "--no-deps", "--no-index", "-e", str(repo))
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", "envsnap-capture",
        cwd=repo, env=offline_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return repo, repo / "envsnap-capture"


def test_the_captures_own_project_needs_no_flag_and_a_moved_head_does(
    own_project: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, _cap = own_project
    head = git(repo, "rev-parse", "HEAD")
    env = offline_env(tmp_path)
    done = run_envsnap("rebuild", "--no-build", "--context", "ctx", cwd=repo, env=env)
    assert done.returncode == 0, done.stderr
    assert (
        f"envsnap: ownpkg: the capture's own project {repo} (git HEAD {head[:12]}, as "
        "project.toml records; copied into the build context)"
    ) in done.stderr
    tree = repo / "ctx" / "layers" / "local" / "src" / "ownpkg"
    assert (tree / "pyproject.toml").is_file()
    assert not (tree / ".venv").exists() and not (tree / "envsnap-capture").exists()
    assert not (tree / "ctx").exists()
    # The venv too, with no flag.
    venv = tmp_path / "rebuilt"
    done = run_envsnap("rebuild", "--venv", str(venv), cwd=repo, env=env)
    assert done.returncode == 0, done.stderr
    assert "its build runs here" in done.stderr
    # A commit since the capture: the folder is no longer what the capture recorded.
    (repo / "VERSION").write_text("ownpkg 0.2\n")
    git(repo, "commit", "-q", "-am", "two")
    moved = run_envsnap("rebuild", "--no-build", "--context", "ctx2", cwd=repo, env=env)
    no_traceback(moved)
    assert f"is not the recorded {head[:12]}" in moved.stderr
    assert "--build-on-host ownpkg" in moved.stderr
    assert not (repo / "ctx2" / "Dockerfile").exists()


def test_a_forged_project_toml_does_not_make_a_strangers_folder_ours(
    capture_copy: Path, tmp_path: Path
) -> None:
    """project.toml may name any commit: the folder's own HEAD decides, read from its files."""
    stranger = make_project(tmp_path / "stranger", "strange", "0.1")
    add_packages(capture_copy, _editable("strange", stranger))
    (capture_copy / "project.toml").write_text(
        f'schema-version = 1\nstatus = "ok"\nvcs = "git"\ncommit = "{"a" * 40}"\ndirty = false\n'
    )
    done = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "ctx"),
        env=offline_env(tmp_path),
    )  # fmt: skip
    no_traceback(done)
    assert "in no git work tree" in done.stderr
    assert not (tmp_path / "ctx" / "Dockerfile").exists()


def test_git_head_is_read_from_files_without_running_git(tmp_path: Path) -> None:
    from envsnap.rebuild.trust import git_head

    repo = make_project(tmp_path / "repo", "p", "1")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    head = git(repo, "rev-parse", "HEAD")
    (repo / "sub").mkdir()
    assert git_head(repo / "sub") == (repo, head)
    git(repo, "pack-refs", "--all")  # the branch now lives in packed-refs only
    assert git_head(repo) == (repo, head)
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt"))
    assert git_head(tmp_path / "wt") == (tmp_path / "wt", head)
    # A repository whose config would run a program for git status: reading HEAD runs nothing.
    marker = tmp_path / "fsmonitor-ran"
    git(repo, "config", "core.fsmonitor", f"touch {marker}; false")
    assert git_head(repo) == (repo, head)
    assert not marker.exists()
    assert git_head(tmp_path) is None
