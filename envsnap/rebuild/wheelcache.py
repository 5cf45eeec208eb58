"""A cache of the wheels `rebuild` builds on the host, so that rendering again runs no build.

Building a local package with pip takes seconds (a fresh build environment, the backend, the
wheel); rendering the rest of a context takes milliseconds. A built wheel is therefore kept under
``<cache home>/wheels`` (``$ENVSNAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/envsnap``) and served again
while what it was built from is unchanged:

- a VCS package by (URL, commit id, subdirectory): a full commit id names immutable content, so a
  hit needs no git at all, not even the repository;
- a local directory or editable by its path and `tree_digest` of its source tree;
- a locked sdist (`archive_key`) by its sha256, for a caller that unpacks it into a new folder.

Both keys also name the building Python (version and platform): a project with extensions builds
a wheel for that interpreter. Each entry is a folder holding the wheel and ``entry.json`` (the full
key, the wheel's name, size and sha256). It is written in a temporary folder and renamed into
place; a hit re-hashes the wheel against ``entry.json``, so a partial, truncated or altered entry
is dropped and rebuilt, never served. A local directory has one slot, keyed by its path: an edited
project replaces its old wheel instead of piling up new ones. A cache that cannot be read or
written only costs a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from .._io import cache_home, cache_key, file_sha256, link_or_copy

__all__ = [
    "Entry",
    "Key",
    "archive_key",
    "dir_key",
    "lookup",
    "place",
    "store",
    "tree_digest",
    "vcs_key",
]

FORMAT = 1
# Folders that are never part of what pip builds: VCS data, caches, virtualenvs, and (at the top
# of the project only: a package may have a module called build) the build outputs that an
# in-tree build writes into the source folder itself.
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
# A file changed this recently may change again within the file system's timestamp granularity
# (2 s on FAT) without its (size, mtime) moving: a tree holding one is not stored.
RACY_NS = 2_000_000_000
_FULL_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Key(NamedTuple):
    """Where an entry lives (`slot`), what it must have been built from (`key`), and whether
    an entry may be stored under it (`settled`: see `tree_digest`)."""

    slot: str
    key: str
    settled: bool = True


class Entry(NamedTuple):
    """A verified cached wheel."""

    wheel: Path
    sha256: str


def _python() -> str:
    machine = os.uname().machine if hasattr(os, "uname") else ""
    return f"{sys.implementation.cache_tag}\0{sys.version}\0{sys.platform}\0{machine}"


def vcs_key(url: str, commit_id: str, subdirectory: str | None) -> Key | None:
    """The key of a VCS checkout; None unless *commit_id* is a full (immutable) commit id."""
    if not _FULL_COMMIT.fullmatch(commit_id):
        return None
    key = cache_key(f"vcs\0{url}\0{commit_id}\0{subdirectory or ''}\0{_python()}".encode())
    return Key(key, key)


def archive_key(sha256: str, subdirectory: str | None = None) -> Key:
    """The key of a project built from an archive (a locked sdist) with this *sha256*."""
    key = cache_key(f"archive\0{sha256}\0{subdirectory or ''}\0{_python()}".encode())
    return Key(key, key)


def dir_key(path: Path) -> Key:
    """The key of the local project folder *path*: its slot is the path, its key the tree."""
    where = os.path.realpath(path)
    slot = cache_key(f"dir\0{where}\0{_python()}".encode())
    digest, settled = _walk(Path(where))
    return Key(slot, cache_key(f"{slot}\0{digest}".encode()), settled)


def tree_digest(root: Path) -> str:
    """A digest of the source tree at *root*: what a rebuilt wheel would be made of.

    Each file counts by relative path, size, mtime, ctime and inode, not by content: a stat per
    file keeps a warm render fast even with data files in the project, and any edit moves the
    mtime and the ctime (which no tool can set back, unlike the mtime). Symbolic links count by
    target (a linked file by its stat too; a linked folder is not walked). Skipped: the
    `SKIP_ANYWHERE` folders, ``*.egg-info``, any folder holding a ``pyvenv.cfg``, and the
    `SKIP_AT_TOP` folders at the top.
    """
    return _walk(root)[0]


def _walk(root: Path) -> tuple[str, bool]:
    """`tree_digest` of *root*, and whether every file's mtime is older than `RACY_NS`.

    A file written just now could be written again within the file system's timestamp
    granularity (2 s on FAT) with its size and mtime unchanged: a key taken from such a
    "racily clean" tree is good for a look-up but not stored (git's rule for its index).
    """
    digest = hashlib.sha256()
    recent = [time.time_ns() - RACY_NS]  # set to 0 once a recent file is seen
    stack = [("", str(root))]
    while stack:
        rel, folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            digest.update(f"E {rel}\0{exc.errno}\n".encode(errors="surrogateescape"))
            continue
        if rel and any(e.name == "pyvenv.cfg" for e in entries):
            continue  # a virtualenv inside the project
        for e in entries:
            name = f"{rel}/{e.name}" if rel else e.name
            line = _entry_line(e, name, rel, stack, recent)
            if line:
                digest.update(line.encode(errors="surrogateescape"))
    return digest.hexdigest(), recent[0] != 0


def _entry_line(
    e: os.DirEntry[str], name: str, rel: str, stack: list[tuple[str, str]], recent: list[int]
) -> str:
    try:
        link = str(Path(e.path).readlink()) if e.is_symlink() else None
        if link is None and e.is_dir():
            if not (
                e.name in SKIP_ANYWHERE
                or e.name.endswith(".egg-info")
                or (not rel and e.name in SKIP_AT_TOP)
            ):
                stack.append((name, e.path))
            return ""
        if not e.is_file():
            return f"L {name}\0{link}\n" if link is not None else ""
        st = e.stat()
    except OSError as exc:
        return f"E {name}\0{exc.errno}\n"
    if st.st_mtime_ns > recent[0]:
        recent[0] = 0
    return f"F {name}\0{link}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\n"


def _folder(key: Key) -> Path:
    return cache_home() / "wheels" / key.slot[:2] / key.slot


def _drop(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _valid(data: Any, key: Key) -> bool:
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key.key:
        return False
    name, sha, size = data.get("wheel"), data.get("sha256"), data.get("size")
    return (
        isinstance(name, str)
        and name.endswith(".whl")
        and "/" not in name
        and not name.startswith(".")
        and isinstance(sha, str)
        and _SHA256.fullmatch(sha) is not None
        and isinstance(size, int)
    )


def lookup(key: Key) -> Entry | None:
    """The cached wheel for *key*, its sha256 verified; None on a miss.

    A slot holding another key (a local project since edited) is a miss, replaced by the next
    `store`; an entry that does not read back whole (missing or altered wheel, unreadable
    ``entry.json``) is removed.
    """
    folder = _folder(key)
    try:
        data = json.loads((folder / "entry.json").read_bytes())
    except FileNotFoundError:
        return None  # no entry (a folder without entry.json, never made by `store`, is replaced)
    except (OSError, ValueError):
        _drop(folder)
        return None
    if isinstance(data, dict) and data.get("format") == FORMAT and data.get("key") != key.key:
        return None  # stale: `store` replaces it
    if not _valid(data, key):
        _drop(folder)
        return None
    wheel = folder / data["wheel"]
    try:
        ok = wheel.stat().st_size == data["size"] and file_sha256(wheel) == data["sha256"]
    except OSError:
        ok = False
    if not ok:
        _drop(folder)
        return None
    return Entry(wheel, data["sha256"])


def place(wheel: Path, dest: Path) -> Path:
    """Hard-link *wheel* into the folder *dest* (a copy where links fail); return the path."""
    target = dest / wheel.name
    link_or_copy(wheel, target)
    return target


def store(key: Key, wheel: Path, sha256: str) -> None:
    """Keep *wheel* (whose sha256 is *sha256*) as the entry of *key*, replacing the slot's old one.

    Best effort: a cache that cannot be written is skipped, and a concurrent writer of the same
    slot wins the race harmlessly. Nothing is stored under a key that is not `settled`.
    """
    if not key.settled:
        return
    folder = _folder(key)
    tmp: Path | None = None
    old: Path | None = None
    with contextlib.suppress(OSError):
        from .._io import private_dir

        private_dir(folder.parent)
        tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=folder.parent))
        place(wheel, tmp)
        entry = {
            "format": FORMAT,
            "key": key.key,
            "sha256": sha256,
            "size": wheel.stat().st_size,
            "wheel": wheel.name,
        }
        (tmp / "entry.json").write_text(json.dumps(entry, sort_keys=True) + "\n", "utf-8")
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=".old-", dir=folder.parent))
            folder.rename(old / "entry")
        tmp.rename(folder)
        tmp = None
    for leftover in (tmp, old):
        if leftover is not None:
            _drop(leftover)
