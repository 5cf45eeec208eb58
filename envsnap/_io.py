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
    "private_dir",
    "read_bytes_bounded",
    "read_capture_text",
    "read_text",
    "untrusted_folder",
    "write_atomic",
]


def private_dir(folder: Path) -> None:
    """Create *folder* and its missing parents mode 0700 (a cache is the user's alone).

    An existing folder strictly inside the cache home is narrowed to 0700 too (older envsnaps
    made 0755 ones); the cache home itself, when it existed already (``$ENVSNAP_CACHE_DIR`` may
    name any folder, even ``/tmp``), and folders that are not ours are left as they are.
    """
    missing = []
    node = folder
    while not node.exists():
        missing.append(node)
        if node.parent == node:
            break
        node = node.parent
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):
            each.mkdir(mode=0o700)
    home = cache_home()
    node = folder
    while home in node.parents:
        with contextlib.suppress(OSError):
            st = node.stat()
            if st.st_uid == os.getuid() and st.st_mode & 0o077:
                node.chmod(0o700)
        node = node.parent


def write_atomic(path: str | os.PathLike[str], text: str, *, private: bool = False) -> None:
    """Write *text* to *path* through a temp file in the same folder, fsync, then a rename.

    A reader never sees a half-written file, and a crash leaves the old file in place. The file
    is made mode 0644 (a lock is meant to be shared), or 0600 in a 0700 folder with *private*
    (every cache entry). No `tempfile`: it imports `random` and `shutil` on every capture, and
    an O_EXCL name with 64 random bits is as safe.
    """
    target = Path(path)
    if private:
        private_dir(target.parent)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if private else 0o644
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(mode)  # whatever the umask: the lock is shared, a cache entry is not
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


# A capture's files are small (the 41-package reference lock is 450 KB); a bound keeps a link to
# /dev/zero or a forged multi-GB file from eating the machine's memory.
MAX_READ = 64 << 20


def read_bytes_bounded(
    path: str | os.PathLike[str], *, what: str = "file", limit: int = MAX_READ
) -> bytes:
    """The bytes of the regular file at *path*, at most *limit*; `InputError` otherwise.

    For files named by a capture, which may come from a stranger: the last component must not be
    a symlink (O_NOFOLLOW), a FIFO or device is refused before anything is read (O_NONBLOCK
    open, then fstat), and a file over *limit* bytes is refused.
    """
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except OSError as exc:
        if Path(path).is_symlink():
            raise InputError(f"{path}: {what} is a symbolic link; refused") from None
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a directory, expected a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: {what} is not a regular file; refused")
        if st.st_size > limit:
            raise InputError(f"{path}: {what} is larger than {limit >> 20} MiB; refused")
        chunks = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:  # it grew while read
                raise InputError(f"{path}: {what} is larger than {limit >> 20} MiB; refused")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    finally:
        os.close(fd)


def read_capture_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """`read_bytes_bounded` decoded as UTF-8 (a file of a capture)."""
    data = read_bytes_bounded(path, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None


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


def untrusted_folder(folder: Path) -> str | None:
    """Why files found under the cache folder *folder* may have been put there by another
    user, or None when only this user (or root) could have: then its entries may be used
    without hashing them again.

    *folder* and every folder between it and the cache home must belong to this user and be
    writable by no one else (a missing one is fine: `private_dir` makes it 0700). The cache
    home's own parents may also belong to root, and may be writable by others when sticky
    (``/tmp``), where no one can rename another user's folder.
    """
    import stat

    uid = os.getuid()
    home = cache_home()
    node = Path(folder).absolute()
    while True:
        ours = node == home or home in node.parents
        try:
            st = node.lstat() if ours and node != home else node.stat()
        except FileNotFoundError:
            st = None
        except OSError as exc:
            return f"{node}: cannot be read ({exc.strerror})"
        if st is not None:
            if ours and not stat.S_ISDIR(st.st_mode):
                return f"{node} is not a folder"
            owners = (uid,) if ours else (uid, 0)
            if st.st_uid not in owners:
                return f"{node} belongs to another user (uid {st.st_uid})"
            shared = st.st_mode & 0o022 and (ours or not st.st_mode & stat.S_ISVTX)
            if shared:
                return f"{node} is writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
        if node.parent == node:
            return None
        node = node.parent


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
