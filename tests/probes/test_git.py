"""The code's git state, read from real repositories made in tmp with the real git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.formats import project
from envsnap.probes import git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def sh(repo: Path, *args: str) -> str:
    import os

    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **ENV},
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    sh(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("print('hi')\n")
    sh(root, "add", "train.py")
    sh(root, "commit", "-q", "-m", "first")
    return root


def test_a_folder_outside_any_repository_is_a_normal_result(tmp_path: Path) -> None:
    state = git.probe(tmp_path)
    assert (state.status, state.reason, state.commit) == ("none", "not a git repository", "")
    assert 'status = "none"' in project.render(state)


def test_clean_repository(repo: Path) -> None:
    state = git.probe(repo)
    assert state.status == "ok" and state.vcs == "git"
    assert state.commit == sh(repo, "rev-parse", "HEAD")
    assert (state.branch, state.dirty, state.changed_files, state.diff_sha256) == (
        "main",
        False,
        0,
        "",
    )
    assert state.remote == ""


def test_a_subfolder_reads_the_whole_repository(repo: Path) -> None:
    (repo / "sub").mkdir()
    assert git.probe(repo / "sub").commit == sh(repo, "rev-parse", "HEAD")


def test_dirty_tree_counts_files_and_digests_the_diff_never_its_content(repo: Path) -> None:
    (repo / "train.py").write_text("print('secret change')\n")
    (repo / "notes.txt").write_text("untracked secret\n")
    first = git.probe(repo)
    assert (first.dirty, first.changed_files) == (True, 2)
    assert len(first.diff_sha256) == 64
    text = project.render(first)
    assert "secret" not in text and "notes.txt" not in text
    # The same uncommitted work digests the same; other work differently.
    assert git.probe(repo).diff_sha256 == first.diff_sha256
    (repo / "notes.txt").write_text("untracked secret, edited\n")
    assert git.probe(repo).diff_sha256 != first.diff_sha256
    # A CRLF-only change is a change.
    (repo / "notes.txt").unlink()
    (repo / "train.py").write_bytes(b"print('hi')\r\n")
    crlf = git.probe(repo)
    assert crlf.changed_files == 1 and crlf.diff_sha256 not in ("", first.diff_sha256)


def test_remote_credentials_are_removed_where_they_enter(repo: Path) -> None:
    sh(repo, "remote", "add", "backup", "https://zz.example.com/b.git")
    sh(repo, "remote", "add", "origin", "https://alice:ghp_SECRET@github.com/org/proj.git?t=x#f")
    state = git.probe(repo)
    assert state.remote == "https://github.com/org/proj.git"
    assert "SECRET" not in project.render(state)


@pytest.mark.parametrize(
    ("remote", "recorded"),
    [
        ("git@github.com:org/proj.git", "git@github.com:org/proj.git"),  # ssh's user names no one
        ("ssh://git@host.example/org/p.git", "ssh://git@host.example/org/p.git"),
        ("ssh://git:pw@host.example:2222/org/p.git", "ssh://host.example:2222/org/p.git"),
        ("oauth2:TOKEN@gitlab.example:g/p.git", "gitlab.example:g/p.git"),
        ("https:/user:TOKEN@gitlab.example/g/p", "https:/gitlab.example/g/p"),
        ("https://token@gitlab.example/g/p", "https://gitlab.example/g/p"),
        ("https://gitlab.example/g/p?private_token=abc", "https://gitlab.example/g/p"),
        ("https://u:t@host.example:notaport/x", "https://host.example:notaport/x"),
        ("/srv/git/proj.git", "/srv/git/proj.git"),
        ("https://h.example/p\x1b[31m", "https://h.example/p%1B[31m"),
    ],
)
def test_the_remote_is_recorded_through_the_words_door(
    repo: Path, remote: str, recorded: str
) -> None:
    sh(repo, "config", "remote.origin.url", remote)
    state = git.probe(repo)
    assert (state.status, state.remote) == ("ok", recorded)


def test_the_first_remote_by_name_when_there_is_no_origin(repo: Path) -> None:
    sh(repo, "remote", "add", "upstream", "https://b.example/p.git")
    sh(repo, "remote", "add", "fork", "https://a.example/p.git")
    assert git.probe(repo).remote == "https://a.example/p.git"


def test_detached_head_and_a_repository_without_commits(repo: Path, tmp_path: Path) -> None:
    sh(repo, "checkout", "-q", "--detach")
    detached = git.probe(repo)
    assert detached.branch == "" and detached.commit == sh(repo, "rev-parse", "HEAD")
    empty = tmp_path / "empty"
    empty.mkdir()
    sh(empty, "init", "-q")
    (empty / "a.py").write_text("x = 1\n")
    state = git.probe(empty)
    assert (state.status, state.commit, state.dirty, state.diff_sha256) == ("ok", "", True, "")


def test_project_toml_round_trips_and_rejects_bad_fields(repo: Path, tmp_path: Path) -> None:
    (repo / "x.txt").write_text("x\n")
    state = git.probe(repo)
    path = project.write(tmp_path / "project.toml", state)
    assert project.load(path) == state
    bad = path.read_text().replace('status = "ok"', 'status = "maybe"')
    with pytest.raises(InputError, match="status"):
        project.parse(bad, "p.toml")
    with pytest.raises(InputError, match="commit"):
        project.parse(path.read_text().replace(state.commit, "HEAD~1"), "p.toml")
    with pytest.raises(InputError, match="newer"):
        project.parse("schema-version = 9\n", "p.toml")


def test_capture_writes_project_toml_for_project_path(cli, repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "cap"
    done = cli("capture", "-o", str(out), "--offline", "-q", "--project", str(repo), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    state = project.load(out / "project.toml")
    assert state.commit == sh(repo, "rev-parse", "HEAD")
    # Without --project: the working directory, here no repository.
    again = cli("capture", "-o", str(out), "--offline", "-q", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert project.load(out / "project.toml").status == "none"


def test_a_missing_project_folder_is_bad_input(cli, tmp_path: Path) -> None:
    done = cli("capture", "-o", str(tmp_path / "c"), "--offline", "--project", str(tmp_path / "no"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == f"envsnap: error: {tmp_path / 'no'}: --project folder not found\n"
    assert not (tmp_path / "c").exists()
