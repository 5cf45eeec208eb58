"""Atomic, deterministic file writes, tolerant small-file reads, and cache keys."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import InputError

__all__ = [
    "cache_home",
    "cache_key",
    "file_sha256",
    "index_cache_key",
    "link_or_copy",
    "read_text",
    "write_atomic",
]


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write *text* to *path* through a temp file in the same folder, fsync, then a rename.

    A reader never sees a half-written file, and a crash leaves the old file in place. The file
    is made mode 0644 (a lock is meant to be shared). No `tempfile`: with `random` and `shutil`
    it costs 5 ms of every capture; an O_EXCL name with 64 random bits is as safe.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(0o644)  # whatever the umask: the lock is shared
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def read_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """Read a UTF-8 file, turning every OS or decoding error into an `InputError` naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a {what}") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of the file at *path*, read in 1 MiB blocks."""
    import hashlib  # OpenSSL: only when a file is hashed

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def link_or_copy(src: Path, dest: Path) -> None:
    """Put *src* at *dest* as a hard link (free for a multi-GB wheel), else as a copy."""
    import shutil

    with contextlib.suppress(FileNotFoundError):
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def cache_home() -> Path:
    """envsnap's user cache folder: ``$ENVSNAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/envsnap``.

    ``$XDG_CACHE_HOME`` defaults to ``~/.cache``; each cache lives in its own subfolder.
    """
    if os.environ.get("ENVSNAP_CACHE_DIR"):
        return Path(os.environ["ENVSNAP_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "envsnap"


def cache_key(data: bytes) -> str:
    """A hex BLAKE2b digest of *data* (32 bytes), for naming entries in the user cache.

    Not hashlib: importing it loads OpenSSL, a few milliseconds of every `envsnap check` start;
    CPython's builtin BLAKE2 module (the one hashlib itself uses) gives the same digest without.
    """
    try:
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - an interpreter without CPython's builtin module
        from hashlib import blake2b
    return blake2b(data, digest_size=32).hexdigest()


def index_cache_key(index: str, name: str, version: str) -> str:
    """The name of the hash cache entry of *name* *version* on *index*.

    Capture writes these entries and rebuild seeds them into an image's ``/envsnap/.cache``, so
    that a capture inside the image pins the same files offline: both sides use this function.
    """
    return cache_key(f"{index}\0{name}\0{version}".encode())
