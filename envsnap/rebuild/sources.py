"""Source trees for the build context: a trusted local folder copied, a VCS commit exported.

Nothing here builds or runs a project: the trees go into the context and pip builds them inside
the container build, which is isolated. What this module runs is git, through the processes door
(`envsnap._subprocess.git`: hooks, fsmonitor and the repository's own filters off): a VCS commit
is fetched into a new bare repository of envsnap's own (no work tree, no checkout; the ``file``
transport only for a repository the user named), listed, and exported with ``git archive``. A
local folder in a git work tree is copied as git lists it (tracked files and untracked ones that
are not ignored); other folders, and folders that their enclosing work tree ignores, are walked,
skipping caches, virtualenvs and build outputs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .._subprocess import Completed, git
from ..errors import BuildError, InputError
from ..render.dockerfile import MARKER

__all__ = ["SKIP_ANYWHERE", "SKIP_AT_TOP", "copy_project", "export_commit"]

# Folders that are never part of what pip builds: VCS data, caches, virtualenvs, and (at the
# top of the project only: a package may have a module called build) build outputs.
SKIP_ANYWHERE = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "node_modules",
    }
)
SKIP_AT_TOP = frozenset({"build", "dist", "venv"})
FETCH_TIMEOUT_S = 600.0


def _last(done: Completed) -> str:
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {done.returncode}"


def _skipped(rel: Path, top_level: bool) -> bool:
    parts = rel.parts
    if any(p in SKIP_ANYWHERE or p.endswith(".egg-info") for p in parts[:-1]):
        return True
    return top_level and len(parts) > 1 and parts[0] in SKIP_AT_TOP


def _walk(src: Path) -> list[Path]:
    """Every file below *src* (relative), without the `SKIP_ANYWHERE` folders, ``*.egg-info``,
    virtualenvs (a folder holding ``pyvenv.cfg``) or the `SKIP_AT_TOP` folders at the top."""
    found: list[Path] = []
    stack = [Path()]
    while stack:
        rel = stack.pop()
        try:
            entries = sorted(os.scandir(src / rel), key=lambda e: e.name)
        except OSError:
            continue
        if rel.parts and any(e.name == "pyvenv.cfg" for e in entries):
            continue
        for e in entries:
            child = rel / e.name
            if e.is_dir(follow_symlinks=False):
                top = not rel.parts and e.name in SKIP_AT_TOP
                if not (e.name in SKIP_ANYWHERE or e.name.endswith(".egg-info") or top):
                    stack.append(child)
            else:
                found.append(child)
    return found


def _listed(src: Path) -> list[Path] | None:
    """The files git lists in the work tree at *src* (tracked, and untracked ones that are
    not ignored, less build outputs and virtualenvs); None when *src* is in no work tree, or
    when the work tree that encloses it ignores it (a project kept beside a repository's own
    files, under a ``.gitignore`` entry): git lists nothing there, so it is walked instead."""
    done = git(["rev-parse", "--is-inside-work-tree"], folder=str(src))
    if not done.ok or done.stdout.strip() != "true":
        return None
    if git(["check-ignore", "--quiet", "."], folder=str(src)).ok:
        return None
    tracked = git(["ls-files", "-z", "--cached"], folder=str(src))
    others = git(["ls-files", "-z", "--others", "--exclude-standard"], folder=str(src))
    if not tracked.ok or not others.ok:
        return None
    files = [Path(p) for p in tracked.stdout.split("\0") if p]
    venvs = {Path(p).parent for p in others.stdout.split("\0") if Path(p).name == "pyvenv.cfg"}
    for name in (p for p in others.stdout.split("\0") if p):
        rel = Path(name)
        if not _skipped(rel, True) and not any(v in rel.parents for v in venvs):
            files.append(rel)
    return files


def _envsnap_output(folder: Path) -> bool:
    """Whether *folder* is a build context or a capture envsnap wrote (never project source:
    a context inside the project would otherwise be copied into the next one, and so on)."""
    from .._io import open_folder, read_at

    with contextlib.suppress(OSError, InputError):
        fd = open_folder(folder)
        try:
            if (read_at(fd, "Dockerfile", len(MARKER)) or b"").startswith(MARKER.encode()):
                return True
        finally:
            os.close(fd)
    return (folder / "pylock.toml").is_file() and (folder / "hardware.toml").is_file()


def copy_project(src: Path, dest: Path, *, exclude: Sequence[Path] = ()) -> tuple[int, int]:
    """Copy the project folder *src* into *dest*; return (files, bytes) copied.

    Regular files keep their executable bit; a symbolic link is kept when it points inside the
    project, else left out (it would ship a file from elsewhere on this machine); anything
    else (FIFOs, sockets) is left out. Paths under *exclude* (the context being written, the
    capture) and envsnap's own outputs in the project (contexts, captures) are never copied.
    """
    root = src.resolve()
    files = _listed(root)
    if files is None:
        files = _walk(root)
    skip = [e.resolve() for e in exclude]
    outputs: dict[Path, bool] = {}
    count = size = 0
    for rel in sorted(set(files)):
        if rel.is_absolute() or ".." in rel.parts:
            continue
        path = root / rel
        if any(path == s or s in path.parents for s in skip):
            continue
        folders = [root / Path(*rel.parts[:n]) for n in range(1, len(rel.parts))]
        if any(outputs.setdefault(f, _envsnap_output(f)) for f in folders):
            continue
        try:
            st = path.lstat()
        except OSError:
            continue  # tracked but deleted in the work tree
        target = dest / rel
        if path.is_symlink():
            link = path.readlink()
            inside = os.path.normpath(path.parent / link)
            if link.is_absolute() or not inside.startswith(str(root) + os.sep):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(link)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            target.chmod(0o755 if st.st_mode & 0o111 else 0o644)
            count += 1
            size += st.st_size
    return count, size


def export_commit(name: str, url: str, commit: str, dest: Path, *, local: bool) -> None:
    """Fetch *commit* of the git repository *url* and write its files into *dest*.

    *local*: *url* is a ``file:`` URL the user named (only then is that transport allowed).
    `InputError` when the commit cannot be fetched or uses submodules (not fetched).
    """
    if url.startswith("git+"):
        url = url[4:]
    if url.startswith("-"):
        raise InputError(f"pylock.toml: {name}: invalid VCS URL {url!r}")
    with tempfile.TemporaryDirectory(prefix="envsnap-git-") as tmp:
        repo = Path(tmp) / "repo.git"
        done = git(["init", "--quiet", "--bare", str(repo)], folder=tmp)
        if not done.ok:
            raise BuildError(f"{name}: git init failed ({_last(done)})")
        fetch = _fetch(repo, url, commit, local=local)
        if not fetch.ok:
            raise InputError(f"{name}: cannot fetch commit {commit} from {url} ({_last(fetch)})")
        tree = git(["ls-tree", "-r", "-z", "--full-tree", commit], folder=str(repo))
        if not tree.ok:
            raise InputError(f"{name}: commit {commit} is not in {url} ({_last(tree)})")
        if any(e.startswith("160000 ") for e in tree.stdout.split("\0")):
            raise InputError(
                f"{name}: commit {commit} of {url} uses git submodules, which rebuild does not "
                "fetch; install it from a wheel or a local folder instead"
            )
        archive = Path(tmp) / "tree.tar"
        argv = ["archive", "--format=tar", f"--output={archive}", commit]
        done = git(argv, folder=str(repo), timeout=FETCH_TIMEOUT_S)
        if not done.ok:
            raise BuildError(f"{name}: git archive of {commit} failed ({_last(done)})")
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tf:
            # The "data" filter refuses absolute names, '..', links that leave dest, devices.
            tf.extractall(dest, filter="data")


def _fetch(repo: Path, url: str, commit: str, *, local: bool) -> Completed:
    """Fetch just *commit* (most servers allow it), else every branch and tag. The ``file``
    transport only for a repository the user named (*local*)."""
    transport = [] if local else ["-c", "protocol.file.allow=never"]
    argv = [*transport, "fetch", "--quiet", "--no-tags", "--depth=1", "--", url, commit]
    done = git(argv, folder=str(repo), timeout=FETCH_TIMEOUT_S)
    if done.ok:
        return done
    refs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    argv = [*transport, "fetch", "--quiet", "--", url, *refs]
    return git(argv, folder=str(repo), timeout=FETCH_TIMEOUT_S)
