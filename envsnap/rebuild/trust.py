"""Which folders of this machine a rebuild may use: the ones the user named, and the capture's
own project.

A capture may come from a stranger. Its lock can name any folder here (a ``directory`` or
``editable`` package, a ``git+file://`` repository, an sdist by path); putting one into a build
context ships this machine's files into an image, and building one here runs its code. So:

- a local folder or local repository is used only when the user names its package with
  ``--build-on-host NAME``, or when it is the capture's own project: inside a git work tree on
  this machine whose HEAD is the commit that project.toml records (a stranger cannot make this
  machine's checkout sit at their commit). HEAD is read from the files under ``.git``: git
  never runs on the folder to decide;
- a folder inside the capture is never used, whatever the flag says: that is the author's code;
- with ``--venv`` everything is built here, so a VCS commit and an sdist that lies on this
  machine also need ``--build-on-host``; an image builds them in its isolated build instead.

Each folder used is said once, with its resolved path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .._io import read_bytes_bounded
from .._regex import lazy
from .._text import canonical_name
from ..errors import InputError
from ..model import Environment
from ..render.plan import Install, local_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..formats.project import ProjectState

__all__ = ["git_head", "local_source", "outside_capture", "recorded_commit", "trusted_folders"]

_COMMIT = lazy(r"[0-9a-f]{40}|[0-9a-f]{64}")
_FLAG = "--build-on-host"


def _recorded_path(item: Install, capture_dir: Path) -> Path:
    pkg = item.package
    raw = local_path(pkg.url, f"pylock.toml: {item.name}.url")
    if raw is None:
        raise InputError(f"pylock.toml: {item.name}: {pkg.source} package without a local path")
    return Path(raw) if Path(raw).is_absolute() else capture_dir / raw


def local_source(item: Install, capture_dir: Path) -> Path:
    """The project folder of a ``directory`` or ``editable`` package, resolved; `InputError`
    when gone, inside the capture, or not a Python project."""
    path = _recorded_path(item, capture_dir)
    outside_capture(item.name, path, capture_dir)
    pkg = item.package
    if not path.is_dir():
        raise InputError(f"{path}: local package {item.name} is gone (recorded as {pkg.source})")
    if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
        raise InputError(f"{path}: not a Python project (no pyproject.toml or setup.py)")
    return path.resolve()


def outside_capture(name: str, path: Path, capture_dir: Path) -> None:
    """Refuse a folder (or repository, or file) inside the capture: that is the capture
    author's code, never the user's own project, whatever --build-on-host says."""
    root = capture_dir.resolve()
    where = path.resolve()
    if where == root or root in where.parents:
        raise InputError(
            f"pylock.toml: {name}: its folder lies inside the capture {capture_dir}; "
            "refused (only a project that exists on this machine outside it may be used)"
        )


def _small(path: Path) -> str | None:
    """A small file of a git folder, or None (missing, a link, a FIFO, too big...)."""
    try:
        return read_bytes_bounded(path, what="git file", limit=1 << 16).decode().strip()
    except (InputError, UnicodeDecodeError):
        return None


def _packed(common: Path, ref: str) -> str | None:
    try:
        text = read_bytes_bounded(common / "packed-refs", what="packed-refs").decode()
    except (InputError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        sha, _, name = line.partition(" ")
        if name == ref and _COMMIT.fullmatch(sha):
            return sha
    return None


def _resolve(gitdir: Path, value: str | None) -> str | None:
    """The commit that HEAD's *value* names: a commit id, or ``ref: refs/…`` (followed a few
    times, through the work tree's own folder, then the common one, then packed-refs)."""
    common = gitdir
    pointer = _small(gitdir / "commondir")
    if pointer:
        common = (gitdir / pointer).resolve()
    for _ in range(5):
        if value is None:
            return None
        if _COMMIT.fullmatch(value):
            return value
        if not value.startswith("ref: refs/"):
            return None
        ref = value[len("ref: ") :]
        if ".." in ref.split("/"):
            return None
        value = _small(gitdir / ref) or _small(common / ref) or _packed(common, ref)
    return None


def git_head(folder: Path) -> tuple[Path, str] | None:
    """(work tree root, HEAD commit) of the git work tree that holds *folder*, read from the
    files under ``.git`` (git is not run); None when there is none or it cannot be read."""
    start = folder.resolve()
    for root in (start, *start.parents):
        dotgit = root / ".git"
        if dotgit.is_dir() and not dotgit.is_symlink():
            gitdir = dotgit
        elif dotgit.is_file():  # a linked work tree or a submodule: "gitdir: PATH"
            line = _small(dotgit) or ""
            if not line.startswith("gitdir: "):
                return None
            gitdir = (root / line[len("gitdir: ") :]).resolve()
        else:
            continue
        commit = _resolve(gitdir, _small(gitdir / "HEAD"))
        return (root, commit) if commit else None
    return None


def recorded_commit(capture_dir: Path) -> str | None:
    """The commit that the capture's project.toml records, or None (no file, no repository)."""
    from ..formats.capture import read

    path = capture_dir / "project.toml"
    if not os.path.lexists(path):
        return None
    state: ProjectState = read(path, "project.toml")  # the in door: bounded, no links
    return state.commit if state.status == "ok" and state.commit else None


def _own(path: Path, commit: str | None) -> tuple[bool, str]:
    """Whether *path* is the capture's own project, and why not."""
    if commit is None:
        return False, "the capture records no project commit"
    found = git_head(path)
    if found is None:
        return False, "it is in no git work tree with a readable HEAD"
    root, head = found
    if head != commit:
        return False, f"its git HEAD {head[:12]} (in {root}) is not the recorded {commit[:12]}"
    return True, ""


def _vcs_folder(item: Install) -> Path | None:
    """The local repository of a ``git+file://`` package, None for a remote one."""
    url = item.package.url or ""
    url = url.split("+", 1)[1] if url.startswith("git+") else url
    if not url.startswith("file:"):
        return None
    return Path(unquote(urlsplit(url).path)).resolve()


def _refused(name: str, what: str, why: str = "") -> InputError:
    because = f" ({why})" if why else ""
    return InputError(
        f"{name}: {what} is not named with {_FLAG}{because}; refused (pass {_FLAG} {name} "
        "if you trust it)"
    )


def _sdist_path(item: Install, capture_dir: Path) -> Path | None:
    """The file of a locked sdist that lies on this machine (a path or file: URL)."""
    pkg = item.package
    refs = [pkg.url or ""] if pkg.source == "url" else [f.path or f.url or "" for f in pkg.files]
    for ref in refs:
        raw = local_path(ref, f"pylock.toml: {item.name}")
        if raw is not None:
            return Path(raw) if Path(raw).is_absolute() else capture_dir / raw
    return None


def _folder(
    item: Install,
    capture_dir: Path,
    *,
    named: bool,
    venv: bool,
    commit: Callable[[], str | None],
    say: Callable[[str], None],
) -> Path:
    """The folder of a directory or editable package, if the user may use it."""
    if not named:
        where = _recorded_path(item, capture_dir).resolve()
        own, why = _own(where, commit())
        if not own:
            raise _refused(
                item.name, f"the local folder {where}", f"nor the capture's own project: {why}"
            )
    path = local_source(item, capture_dir)
    use = "its build runs here" if venv else "copied into the build context"
    if named:
        say(f"{_FLAG} {item.name}: using the folder {path} ({use})")
    else:
        head = (commit() or "")[:12]
        say(
            f"{item.name}: the capture's own project {path} (git HEAD {head}, as "
            f"project.toml records; {use})"
        )
    return path


def _vcs(
    item: Install, capture_dir: Path, *, named: bool, venv: bool, say: Callable[[str], None]
) -> Path | None:
    """The local repository of a VCS package if the user may use it (None: a remote one)."""
    pkg = item.package
    repo = _vcs_folder(item)
    if repo is not None and not named:
        raise _refused(item.name, f"the local git repository {repo}")
    if venv and not named:
        raise _refused(
            item.name,
            f"the VCS commit {pkg.url}@{pkg.commit_id}",
            "a venv builds it on this machine, which runs its code here; an image builds it "
            "in its isolated build",
        )
    if repo is not None:
        outside_capture(item.name, repo, capture_dir)
        say(f"{_FLAG} {item.name}: using the git repository {repo}")
    elif venv:
        say(f"{_FLAG} {item.name}: building {pkg.url} at {pkg.commit_id} here")
    return repo


def _sdist(item: Install, capture_dir: Path, *, named: bool, say: Callable[[str], None]) -> None:
    """Refuse building an sdist that lies on this machine here (a venv) unless named."""
    sdist = _sdist_path(item, capture_dir)
    if sdist is None:
        return
    if not named:
        raise _refused(
            item.name,
            f"the sdist {sdist}",
            "a venv builds it on this machine, which runs its code here; an image builds it "
            "in its isolated build",
        )
    outside_capture(item.name, sdist, capture_dir)
    say(f"{_FLAG} {item.name}: building the sdist {sdist.resolve()} here")


def trusted_folders(
    installs: Iterable[Install],
    env: Environment,
    capture_dir: Path,
    named: Iterable[str],
    *,
    venv: bool,
    say: Callable[[str], None],
) -> dict[str, Path]:
    """{package: folder} of every local folder the rebuild may use, each said once with its
    resolved path; `InputError` (one line, naming the flag) for one it may not use.

    *venv* True: the packages are built on this machine, so VCS commits and sdists on this
    machine need naming too. A name in *named* that the lock does not have is an error.
    """
    allowed = {canonical_name(n) for n in named}
    unknown = sorted(allowed - {canonical_name(p.name) for p in env.packages})
    if unknown:
        raise InputError(f"{_FLAG} {unknown[0]}: no such package in {capture_dir}/pylock.toml")
    read: list[str | None] = []

    def commit() -> str | None:  # project.toml is read only when a folder asks
        if not read:
            read.append(recorded_commit(capture_dir))
        return read[0]

    folders: dict[str, Path] = {}
    for item in installs:
        is_named = canonical_name(item.name) in allowed
        if item.how == "source" and item.package.source in ("directory", "editable"):
            folders[item.name] = _folder(
                item, capture_dir, named=is_named, venv=venv, commit=commit, say=say
            )
        elif item.how == "source":
            repo = _vcs(item, capture_dir, named=is_named, venv=venv, say=say)
            if repo is not None:
                folders[item.name] = repo
        elif venv and item.how == "sdist":
            _sdist(item, capture_dir, named=is_named, say=say)
    return folders
