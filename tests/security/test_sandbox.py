"""Issue #9, attacks 5, 6 and 9: a capture from someone else is read as a sandbox.

Its folders are never built on this machine unless the user names the package and the folder
lies outside the capture; its tool tables cannot re-route a package; its files are read only as
regular files, never through a symlink, never a FIFO or a device.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_envsnap
from tests.fakes.sandbox import add_packages
from tests.security.conftest import no_traceback, offline_env, tree_text

SETUP = "open({marker!r}, 'w').write('ran')\nfrom setuptools import setup\nsetup(name='evil')\n"


def evil_project(folder: Path, marker: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "setup.py").write_text(SETUP.format(marker=str(marker)))
    return folder


def _directory_package(path: str) -> str:
    return (
        f'[[packages]]\nname = "evil"\nversion = "1.0"\ndirectory = {{ path = "{path}" }}\n\n'
        '[packages.tool.envsnap]\nsource = "directory"\nrequested = true\n'
    )


@pytest.mark.parametrize("where", ["inside", "parent", "absolute"])
def test_a_folder_package_is_not_built_without_the_flag(
    capture_copy: Path, tmp_path: Path, where: str
) -> None:
    marker = tmp_path / "PWNED"
    if where == "inside":
        evil_project(capture_copy / "evil", marker)
        path = "evil"
    elif where == "parent":
        evil_project(tmp_path / "outside", marker)
        path = "../outside"
    else:
        path = str(evil_project(tmp_path / "abs", marker))
    add_packages(capture_copy, _directory_package(path))
    ctx = tmp_path / "ctx"
    done = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(ctx), env=offline_env(tmp_path)
    )
    no_traceback(done)
    assert "evil" in done.stderr and "--build-on-host evil" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_the_flag_does_not_allow_a_folder_inside_the_capture(
    capture_copy: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "PWNED"
    evil_project(capture_copy / "evil", marker)
    add_packages(capture_copy, _directory_package("evil"))
    done = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "ctx"),
        "--build-on-host", "evil", env=offline_env(tmp_path),
    )  # fmt: skip
    no_traceback(done)
    assert "inside the capture" in done.stderr
    assert not marker.exists()


def _index_package(tool: str) -> str:
    wheel = "innocent-1.0-py3-none-any.whl"
    return (
        '[[packages]]\nname = "innocent"\nversion = "1.0"\nindex = "https://pypi.org/simple"\n'
        f'wheels = [{{ name = "{wheel}", url = "https://files.example/{wheel}", '
        f'hashes = {{ sha256 = "{"a" * 64}" }} }}]\n\n[packages.tool.envsnap]\n{tool}'
    )


@pytest.mark.parametrize(
    "tool",
    [
        'source = "directory"\nurl = "file://{evil}"\n',
        'name = "pip"\n',
        'version = "2.0"\n',
        "files = []\n",
        'index = "https://evil.example/simple"\n',
    ],
)
def test_the_tool_table_cannot_override_pep_751(
    capture_copy: Path, tmp_path: Path, tool: str
) -> None:
    marker = tmp_path / "PWNED"
    evil = evil_project(tmp_path / "evil", marker)
    add_packages(capture_copy, _index_package(tool.format(evil=evil)))
    done = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "ctx"),
        "--build-on-host", "innocent", env=offline_env(tmp_path),
    )  # fmt: skip
    no_traceback(done)
    assert "tool.envsnap" in done.stderr
    assert not marker.exists()


@pytest.mark.parametrize("name", ["hardware.toml", "requirements.txt"])
def test_a_symlink_in_a_capture_is_not_followed(
    capture_copy: Path, tmp_path: Path, name: str
) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- OUTSIDESECRET\n")
    (capture_copy / name).unlink()
    (capture_copy / name).symlink_to(secret)
    ctx = tmp_path / "ctx"
    done = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(ctx), env=offline_env(tmp_path)
    )
    no_traceback(done)
    assert "symbolic link" in done.stderr
    assert "OUTSIDESECRET" not in tree_text(ctx)


def test_check_refuses_a_symlinked_hardware_toml(capture_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.toml"  # a valid file: the old reader used it silently
    (capture_copy / "hardware.toml").rename(outside)
    (capture_copy / "hardware.toml").symlink_to(outside)
    done = run_envsnap("check", str(capture_copy), env=offline_env(tmp_path))
    no_traceback(done)
    assert "symbolic link" in done.stderr


@pytest.mark.parametrize(
    ("name", "kind"), [("pylock.toml", "fifo"), ("image.toml", "zero"), ("pylock.toml", "zero")]
)
def test_a_fifo_or_dev_zero_is_refused_not_read(
    capture_copy: Path, tmp_path: Path, name: str, kind: str
) -> None:
    target = capture_copy / name
    target.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    # The old reader blocked on the FIFO forever, or read /dev/zero until memory ran out.
    done = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "ctx"),
        env=offline_env(tmp_path), timeout=60,
    )  # fmt: skip
    no_traceback(done)
    assert name in done.stderr


def test_an_oversized_file_is_refused(capture_copy: Path, tmp_path: Path) -> None:
    lock = capture_copy / "pylock.toml"
    with lock.open("ab") as fh:
        fh.truncate((64 << 20) + 1)  # sparse: no disk used
    done = run_envsnap("check", str(capture_copy), env=offline_env(tmp_path), timeout=60)
    no_traceback(done)
    assert "larger than" in done.stderr


@pytest.mark.parametrize("flag", [False, True])
def test_a_vcs_repository_inside_the_capture_is_never_built(
    capture_copy: Path, tmp_path: Path, flag: bool
) -> None:
    import subprocess

    marker = tmp_path / "PWNED"
    repo = evil_project(capture_copy / "repo", marker)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *args], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    add_packages(
        capture_copy,
        '[[packages]]\nname = "evil"\nversion = "1.0"\n'
        f'vcs = {{ type = "git", url = "{repo.as_uri()}", commit-id = "{commit}" }}\n\n'
        '[packages.tool.envsnap]\nsource = "vcs"\n',
    )
    extra = ["--build-on-host", "evil"] if flag else []
    done = run_envsnap(
        "rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "ctx"), *extra,
        env=offline_env(tmp_path),
    )  # fmt: skip
    no_traceback(done)
    assert ("inside the capture" if flag else "--build-on-host evil") in done.stderr
    assert not marker.exists()
