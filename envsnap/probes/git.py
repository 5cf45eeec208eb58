"""The code's state: the git repository of a project folder (remote, commit, branch, dirty tree).

One git command for a clean tree, only from `capture` (never on the `check` path): ``git
status --porcelain=v2 --branch`` gives the commit, the branch and the changed files in one call;
the remotes are read from the config files (``git config --get-regexp`` only where they cannot
say it all). For a dirty tree, ``git diff HEAD --binary`` gives the
bytes whose sha256, with the untracked files' names and contents, is the diff digest. The diff
itself is never kept. A folder that is no git repository, or a machine without git, is a result
with a reason, never an exception. Remote URLs lose their credentials here, where they enter.

The folder may be a stranger's (an unpacked archive, a shared folder): git runs through the
processes door (`envsnap._subprocess.git`), which runs none of the repository's hooks, filters,
fsmonitor or diff drivers, and the remote passes through the words door (`envsnap._redact.url`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._redact import text, url
from .._subprocess import git, git_bytes, git_remote_urls
from ..formats.project import ProjectState

__all__ = ["parse_status", "probe"]

_TIMEOUT = 20
_HEX = frozenset("0123456789abcdef")


def _is_commit(oid: str) -> bool:
    """A full SHA-1 or SHA-256 object name (a string test: no pattern on capture's path)."""
    return len(oid) in (40, 64) and _HEX.issuperset(oid)


# An untracked file larger than this is digested by name and size only (a stray dataset).
_MAX_UNTRACKED = 64 * 1024 * 1024


def parse_status(text: str) -> tuple[str, str, list[str], list[str]]:
    """(commit, branch, changed paths, untracked paths) of ``git status --porcelain=v2 --branch
    -z`` output; commit and branch are empty for a repository without commits / a detached HEAD.
    """
    commit = branch = ""
    changed: list[str] = []
    untracked: list[str] = []
    entries = text.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            commit = oid if _is_commit(oid) else ""
        elif entry.startswith("# branch.head "):
            head = entry.removeprefix("# branch.head ")
            branch = "" if head == "(detached)" else head
        elif entry.startswith("1 "):
            changed.append(entry.split(" ", 8)[-1])
        elif entry.startswith("2 "):  # rename/copy: the original path follows as its own entry
            changed.append(entry.split(" ", 9)[-1])
            i += 1
        elif entry.startswith("u "):
            changed.append(entry.split(" ", 10)[-1])
        elif entry.startswith("? "):
            untracked.append(entry[2:])
    return commit, branch, changed, untracked


def _remote(root: str) -> str:
    """The URL of ``origin``, else of the first remote by name; empty when there is none.

    Read from the config files (`git_remote_urls`) without a git process where they say it
    all, else asked of ``git config``: a clean tree costs one git process, `status`.
    """
    urls = git_remote_urls(root)
    if urls is None:
        out = git(["config", "--get-regexp", r"^remote\..*\.url$"], folder=root, timeout=_TIMEOUT)
        urls = []
        for line in out.stdout.splitlines() if out.ok else ():
            key, _, value = line.partition(" ")
            urls.append((key.removeprefix("remote.").removesuffix(".url"), value))
    remotes = dict(urls)
    if not remotes:
        return ""
    return url((remotes.get("origin") or remotes[sorted(remotes)[0]]).strip())[0]


def _diff_digest(root: str, untracked: list[str]) -> str:
    """sha256 of the tracked changes (``git diff HEAD --binary``) and of each untracked file's
    name and content: equal digests mean the same uncommitted work."""
    import hashlib  # OpenSSL: only for a dirty tree

    digest = hashlib.sha256()
    # Bytes, not text: CRLF and non-UTF-8 changes must change the digest too.
    diff = git_bytes(["diff", "HEAD", "--binary", "--no-color"], folder=root, timeout=_TIMEOUT * 3)
    digest.update(diff if diff is not None else b"git diff failed")
    for name in sorted(untracked):
        digest.update(b"\0untracked\0" + os.fsencode(name) + b"\0")
        path = Path(root, name)
        try:
            if path.is_symlink() or not path.is_file():
                digest.update(b"not-a-file")
            elif path.stat().st_size > _MAX_UNTRACKED:
                digest.update(b"size=%d" % path.stat().st_size)
            else:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def probe(path: str | os.PathLike[str] | None = None) -> ProjectState:
    """The git state of the repository holding *path* (default: the working directory)."""
    folder = str(Path(path) if path is not None else Path.cwd())
    if not Path(folder).is_dir():
        return ProjectState(status="none", reason="project folder not found")
    # One git call answers "is it a repository" and "which commit, branch, changes" (paths
    # relative to the top level); the top level itself is asked only for untracked files.
    status = git(
        ["status", "--porcelain=v2", "--branch", "-z", "-uall"], folder=folder, timeout=_TIMEOUT * 3
    )
    if status.returncode is None:
        why = status.stderr if "git config" in status.stderr else "git not found"
        return ProjectState(status="unavailable", reason=text(why, most=200))
    if not status.ok:
        if "not a git repository" in status.stderr:
            return ProjectState(status="none", reason="not a git repository")
        first = next(iter(status.stderr.strip().splitlines()), "git status failed")
        return ProjectState(
            status="unavailable", reason=text(first.removeprefix("fatal: "), most=200)
        )
    commit, branch, changed, untracked = parse_status(status.stdout)
    count = len(changed) + len(untracked)
    digest = ""
    if count and commit:
        top = git(["rev-parse", "--show-toplevel"], folder=folder, timeout=_TIMEOUT)
        digest = _diff_digest(top.stdout.strip() if top.ok else folder, untracked)
    return ProjectState(
        status="ok",
        vcs="git",
        remote=_remote(folder),
        commit=commit,
        branch=branch,
        dirty=count > 0,
        changed_files=count,
        diff_sha256=digest,
    )
