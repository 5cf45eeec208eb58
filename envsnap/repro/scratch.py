"""Scratch copies of the working directory, one per run, and what a run created or changed.

The user's tree is never written: each file is cloned (FICLONE: copy-on-write, free, where the
filesystem offers it) or copied. Hard links are never used: a job that opens an existing file
for writing (``open(path, "w")`` truncates in place) would write through a link into the
user's file. Virtual environments and conda environments inside the tree (a folder holding
``pyvenv.cfg`` or ``conda-meta/``) are not copied but linked by absolute path, as the job
would run them anyway; symbolic links are copied as links; FIFOs, sockets and devices are left
out. `state` records every entry of a tree without following links; `changes` compares two.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import sys
from pathlib import Path

from envsnap._record import Record, record
from envsnap.errors import InputError

__all__ = ["Copied", "Entry", "changes", "copy_tree", "match", "state"]

_FICLONE = 0x40049409  # _IOW(0x94, 9, int): Linux's "share this file's extents"
IGNORED = ("__pycache__",)  # never an output: the interpreter writes them on import
_IGNORED_SUFFIXES = (".pyc",)


@record
class Copied(Record):
    """What `copy_tree` did: files and bytes copied, whether by clone, environments linked,
    special files left out."""

    files: int
    bytes: int
    cloned: bool
    linked: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


class _Copier:
    def __init__(self) -> None:
        self.clone = sys.platform == "linux"  # tried until the filesystem says no
        self.cloned_any = False
        self.files = 0
        self.bytes = 0
        self.linked: list[str] = []
        self.skipped: list[str] = []

    def file(self, src: str, dest: str, st: os.stat_result) -> None:
        self.files += 1
        self.bytes += st.st_size
        if self.clone and self._clone(src, dest):
            self.cloned_any = True
        else:
            shutil.copyfile(src, dest, follow_symlinks=False)
        os.chmod(dest, stat.S_IMODE(st.st_mode))
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))

    def _clone(self, src: str, dest: str) -> bool:
        import fcntl

        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(src, flags), "rb") as fin:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with open(fd, "wb") as fout:
                try:
                    fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
                    return True
                except OSError:
                    self.clone = False  # EOPNOTSUPP, EXDEV, EINVAL: this filesystem cannot
        os.unlink(dest)
        return False


def _environment(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg")) or os.path.isdir(
        os.path.join(path, "conda-meta")
    )


def copy_tree(src: Path, dest: Path) -> Copied:
    """Copy the tree *src* into the new folder *dest* (see the module's docstring)."""
    copier = _Copier()
    dest.mkdir(mode=0o700)
    _copy_dir(str(src), str(dest), "", copier)
    return Copied(
        copier.files, copier.bytes, copier.cloned_any, tuple(copier.linked), tuple(copier.skipped)
    )


def _copy_dir(src: str, dest: str, rel: str, copier: _Copier) -> None:
    with os.scandir(src) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            s, d = entry.path, os.path.join(dest, entry.name)
            r = f"{rel}{entry.name}"
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(s), d)
            elif stat.S_ISDIR(st.st_mode):
                if _environment(s):
                    os.symlink(os.path.abspath(s), d)
                    copier.linked.append(r)
                    continue
                os.mkdir(d, 0o700)
                _copy_dir(s, d, r + "/", copier)
                os.chmod(d, stat.S_IMODE(st.st_mode) | stat.S_IRWXU)
            elif stat.S_ISREG(st.st_mode):
                copier.file(s, d, st)
            else:
                copier.skipped.append(r)


@record
class Entry(Record):
    """A tree entry as `state` saw it: its type, size, times and inode (any write changes the
    change time, which no job can set back), or a link's target."""

    kind: str  # file, link, other
    size: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0
    inode: int = 0
    target: str = ""


def state(root: Path) -> dict[str, Entry]:
    """Every entry below *root* (relative "/" paths), links not followed, directories left
    out; `IGNORED` folders and ``.pyc`` files too."""
    out: dict[str, Entry] = {}
    _state(str(root), "", out)
    return out


def _state(path: str, rel: str, out: dict[str, Entry]) -> None:
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(path) as entries:
        for entry in entries:
            r = f"{rel}{entry.name}"
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if entry.name not in IGNORED:
                    _state(entry.path, r + "/", out)
            elif stat.S_ISLNK(st.st_mode):
                out[r] = Entry("link", target=os.readlink(entry.path))
            elif not entry.name.endswith(_IGNORED_SUFFIXES):
                kind = "file" if stat.S_ISREG(st.st_mode) else "other"
                out[r] = Entry(kind, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def changes(before: dict[str, Entry], after: dict[str, Entry]) -> tuple[list[str], list[str]]:
    """(paths created or changed, paths removed), sorted."""
    made = sorted(p for p, e in after.items() if before.get(p) != e)
    gone = sorted(p for p in before if p not in after)
    return made, gone


def check_pattern(pattern: str) -> str:
    """*pattern* (an --output) as a "/" path relative to the working directory; `InputError`
    when it is absolute or climbs out with ``..``."""
    text = pattern.replace(os.sep, "/").strip()
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not text or text.startswith("/") or ".." in parts or not parts:
        raise InputError(
            f"--output {pattern!r}: expected a file, folder or glob inside the working directory"
        )
    return "/".join(parts)


def match(pattern: str, paths: list[str]) -> list[str]:
    """The *paths* that --output *pattern* names: that file, every file below that folder, or
    those matching the glob (``*`` and ``?`` within a name, ``**`` across folders)."""
    if not any(c in pattern for c in "*?["):
        return [p for p in paths if p == pattern or p.startswith(pattern + "/")]
    regex = re.compile(_glob(pattern))
    return [p for p in paths if regex.fullmatch(p)]


def _glob(pattern: str) -> str:
    parts = pattern.split("/")
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append("(?:[^/]+/)*" + ("[^/]+" if last else ""))
        else:
            out.append(_name_regex(part) + ("" if last else "/"))
    return "".join(out)


def _name_regex(part: str) -> str:
    """One path component of a glob as a regex: ``*``, ``?`` and ``[...]`` within a name."""
    out, i = [], 0
    while i < len(part):
        c = part[i]
        end = part.find("]", i + 2) if c == "[" else -1
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif end > 0:
            body = part[i + 1 : end]
            neg = body[:1] == "!"
            body = re.escape(body[1:] if neg else body).replace("\\-", "-")
            out.append(f"[{'^' if neg else ''}{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
