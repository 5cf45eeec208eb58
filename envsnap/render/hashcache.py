"""Remembered sha256 digests of large files on the host (locked wheels in find-links folders).

Rendering a context checks each locked file it copies in against the lock's sha256. For the
bench's torch wheel (190 MB) that alone cost ~150 ms of every render, for a file that has not
changed since the last one. `remembered_sha256` remembers the digest of a file of at least
`MIN_SIZE` against its identity: (device, inode, size, mtime). The ctime is left out on
purpose: hard-linking the file into a context, which rendering does, changes it every time.

What this trusts: that a file whose inode, size and mtime are unchanged holds the same bytes.
Rewriting a file in place and setting its mtime back defeats it; pip in the image still checks
every file against the lock's hash (``--require-hashes``), so such a file fails the build there.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from .._io import cache_home, cache_key, file_sha256

__all__ = ["MIN_SIZE", "remembered_sha256"]

MIN_SIZE = 1 << 20  # below this, hashing costs less than a cache look-up
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _identity(st: os.stat_result) -> str:
    return f"{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}"


def remembered_sha256(path: Path) -> str:
    """The hex sha256 of the file at *path*, remembered for large files (see the module)."""
    st = path.stat()
    if st.st_size < MIN_SIZE:
        return file_sha256(path)
    identity = _identity(st)
    key = cache_key(identity.encode())
    entry = cache_home() / "hashes" / key[:2] / key
    with contextlib.suppress(OSError, UnicodeDecodeError):
        known = entry.read_text("ascii")
        if _SHA256.fullmatch(known):
            return known
    digest = file_sha256(path)
    if _identity(path.stat()) == identity:  # unchanged while it was read: worth keeping
        _store(entry, digest)
    return digest


def _store(entry: Path, digest: str) -> None:
    """Write *digest* to *entry* through a temporary file and a rename; best effort."""
    with contextlib.suppress(OSError):
        from .._io import private_dir

        private_dir(entry.parent)
        fd, tmp = tempfile.mkstemp(prefix=".", dir=entry.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(digest)
            Path(tmp).replace(entry)
        finally:
            with contextlib.suppress(FileNotFoundError):
                Path(tmp).unlink()
