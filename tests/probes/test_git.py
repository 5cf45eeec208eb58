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


# --- one git process on a clean tree -------------------------------------------------------------


def _logging_git(tmp_path: Path) -> tuple[str, Path]:
    """A PATH whose first folder holds a `git` that logs its arguments, then runs the real one."""
    real = shutil.which("git")
    assert real is not None
    folder, log = tmp_path / "bin", tmp_path / "git-calls.log"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    import os

    return f"{folder}{os.pathsep}{os.environ.get('PATH', '')}", log


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _verb(call: str) -> str:
    """The git command of a logged call (after the hardening ``-c`` options)."""
    words = call.split(" ")
    return next(w for w in words if w in ("status", "rev-parse", "diff", "config"))


def test_a_clean_tree_costs_one_git_process(cli, repo: Path, tmp_path: Path) -> None:
    sh(repo, "remote", "add", "origin", "https://u:tok@example.org/org/proj.git")
    path, log = _logging_git(tmp_path)
    out = tmp_path / "cap"
    env = {**ENV, "PATH": path}
    done = cli("capture", "-o", str(out), "--offline", "-q", "--project", str(repo), env=env)
    assert done.returncode == 0, done.stderr
    calls = _calls(log)
    assert [_verb(c) for c in calls] == ["status"]
    state = project.load(out / "project.toml")
    assert (state.remote, state.dirty) == ("https://example.org/org/proj.git", False)
    # A dirty tree adds what its digest needs, and still no `git config`.
    (repo / "train.py").write_text("changed\n")
    log.unlink()
    done = cli("capture", "-o", str(out), "--offline", "-q", "--project", str(repo), env=env)
    assert done.returncode == 0, done.stderr
    verbs = [_verb(c) for c in _calls(log)]
    assert sorted(verbs) == ["diff", "rev-parse", "status"]


def _git_says(repo: Path) -> list[tuple[str, str]]:
    """What ``git config --get-regexp`` lists, as (remote, url)."""
    import os

    done = subprocess.run(
        ["git", "-C", str(repo), "config", "--get-regexp", r"^remote\..*\.url$"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    pairs = [line.partition(" ") for line in done.stdout.splitlines()]
    return [(k.removeprefix("remote.").removesuffix(".url"), v) for k, _, v in pairs]


CONFIGS = {
    "plain": '[remote "origin"]\n\turl = https://example.org/a.git\n',
    "spaces and comments": '[remote "origin"]\n  url   =  https://e.org/a b.git  # x\n',
    "quoted": '[remote "o"]\n\turl = "https://e.org/a;b#c.git" ; comment\n',
    "half quoted": '[remote "o"]\n\turl = ht"tps://e.org/  "x\n',
    "tab inside": '[remote "o"]\n\turl = a\t\tb\n',
    "key case": '[Remote "Origin"]\n\tURL = https://e.org/x.git\n',
    "old syntax": "[remote.Fork]\n\turl = https://e.org/f.git\n",
    "header and key on one line": '[remote "o"] url = https://e.org/1.git\n',
    "several": '[remote "b"]\n\turl = https://e.org/b1\n\turl = https://e.org/b2\n'
    '[remote "a"]\n\turl = https://e.org/a\n',
    "escaped subsection": '[remote "we\\"ird"]\n\turl = https://e.org/w\n',
    "continued": '[remote "o"]\n\turl = https://e.org/\\\n  more.git\n',
    # git does not continue a comment: the next line is a header, not part of the comment
    "comment ending in a backslash": '# note \\\n[remote "o"]\n\turl = https://e.org/o\n',
    "no value": '[remote "o"]\n\turl\n',
    "empty": '[remote "o"]\n\turl =\n',
    "other keys": '[remote "o"]\n\tfetch = +refs/heads/*:refs/remotes/o/*\n\tpushurl = x\n',
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_remotes_read_without_git_are_what_git_lists(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from envsnap._subprocess import git_remote_urls

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    config = repo / ".git" / "config"
    config.write_text(config.read_text() + CONFIGS[name])
    assert git_remote_urls(str(repo)) == _git_says(repo)


def test_remotes_from_an_include_and_the_users_config_are_read_too(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap._subprocess import git_remote_urls

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    (home / ".gitconfig").write_text('[remote "origin"]\n\turl = https://e.org/global\n')
    (tmp_path / "extra.cfg").write_text('[remote "extra"]\n\turl = https://e.org/extra\n')
    config = repo / ".git" / "config"
    config.write_text(config.read_text() + f'[include]\n\tpath = "{tmp_path / "extra.cfg"}"\n')
    urls = git_remote_urls(str(repo))
    assert urls == _git_says(repo) and len(urls or []) == 2
    assert git.probe(repo).remote == "https://e.org/global"


@pytest.mark.parametrize(
    ("config", "env"),
    [
        ('[includeIf "gitdir:/nowhere/"]\n\tpath = x.cfg\n', {}),
        ('[remote "o"]\n\turl = "https://e.org/a\\tb"\n', {}),
        ('[remote "o"]\n\turl = https://e.org/a\n', {"GIT_CONFIG_COUNT": "0"}),
        ('[remote "o"]\n\turl = https://e.org/a\n', {"GIT_CONFIG_NOSYSTEM": "2"}),
    ],
)
def test_git_is_asked_where_the_files_alone_cannot_say(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, env: dict[str, str]
) -> None:
    from envsnap._subprocess import git_remote_urls

    for key, value in {**ENV, **env}.items():
        monkeypatch.setenv(key, value)
    path = repo / ".git" / "config"
    path.write_text(path.read_text() + config)
    assert git_remote_urls(str(repo)) is None
    # ... and the probe still records what git says (through the words door).
    from envsnap._redact import url

    said = dict(_git_says(repo)).get("o")
    assert git.probe(repo).remote == (url(said)[0] if said else "")
