"""Replace a capture's files as one set: a new set never mixes with an old or a concurrent one.

The new files are written into a fresh temporary folder beside the capture directory, then moved
in while an exclusive lock is held on the directory; the files of the set that the new capture
does not have (a ``conda-lock.yml`` left by a conda capture, now of a plain venv) are removed.
Two captures into one directory take turns, so the last one's set is what remains, whole. A
capture killed half-way leaves a temporary folder or file; the next one removes those whose
process is gone. Files in the directory that are not capture files (image.toml, the user's own)
are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

__all__ = ["SET_FILES", "write_set"]

# Every file a capture always decides on; a set without one of them removes it from the directory.
# numerics.toml is not one: a capture without --numerics leaves an earlier measurement alone.
SET_FILES = (
    "pylock.toml",
    "requirements.txt",
    "hardware.toml",
    "conda-lock.yml",
    "project.toml",
)
_TEMP_DIR = re.compile(r"\.(?P<name>.+)\.envsnap-(?P<pid>[0-9]+)-[0-9a-f]{16}\.tmp")
_TEMP_FILE = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{16}\.tmp")


def write_set(
    out: Path,
    texts: Mapping[str, str],
    *,
    unchanged: Callable[[Path, str], bool],
) -> None:
    """Make *out* hold exactly the capture files *texts* (name -> text).

    A file for which ``unchanged(path, text)`` is true is left as it is (same inode and mtime:
    re-capturing an unchanged environment leaves a committed lock without a diff). Raises
    `OSError` when *out* cannot be made or written.
    """
    out = Path(os.path.abspath(out))  # noqa: PTH100 (`.` must have a name and a parent)
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _clean_leftovers(out)
        tmp = _make_tmp(out)
        try:
            moved = []
            for name, text in texts.items():
                if not unchanged(out / name, text):
                    _write(tmp / name, text)
                    moved.append(name)
            for name in moved:
                (tmp / name).replace(out / name)
            for name in SET_FILES:
                if name not in texts:
                    with contextlib.suppress(FileNotFoundError):
                        (out / name).unlink()
            _fsync_dir(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _make_tmp(out: Path) -> Path:
    """A fresh folder beside *out* (same file system, so each move is a rename); inside it when
    the parent is another file system or not writable (a mount point, ``/``)."""
    name = f".{out.name}.envsnap-{os.getpid()}-{os.urandom(8).hex()}.tmp"
    with contextlib.suppress(OSError):
        if out.parent.stat().st_dev == out.stat().st_dev:
            beside = out.parent / name
            beside.mkdir(mode=0o755)
            return beside
    inside = out / name
    inside.mkdir(mode=0o755)
    return inside


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    path.chmod(0o644)  # whatever the umask: a lock is shared


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive flock on *folder* itself (no lock file to commit); none where there is no
    flock (the set is then still written whole, only concurrent runs may interleave)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process: not ours to judge
    return True


def _clean_leftovers(out: Path) -> None:
    """Remove what killed captures left: temp folders beside *out*, temp files in it."""
    for folder in (out.parent, out):
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                found = _TEMP_DIR.fullmatch(entry.name)
                if found and found["name"] == out.name and not _alive(int(found["pid"])):
                    shutil.rmtree(entry.path, ignore_errors=True)
    with contextlib.suppress(OSError):
        for entry in os.scandir(out):
            found = _TEMP_FILE.fullmatch(entry.name)
            if found and found["name"] in SET_FILES and not _alive(int(found["pid"])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)  # noqa: PTH108
