"""Fill a folder with locked files: copied from this machine or downloaded, hash-verified.

An image rebuild is hermetic by default: every locked package's file is fetched here, where pip
already reaches its index (the same TLS settings: pip's ``cert``, and ``--ca-cert``), checked
against the lock's sha256, and put into the build context; pip in the build installs with
``--no-index``. Without it (``--fetch-in-build``), only the files that no index can serve (local
find-links folders, ``file://`` indexes and archives) and locked sdists are fetched here. A
locked sdist is shipped as it is: it is built in the container, never here.

Files whose hash matched are kept in envsnap's store of verified files
(``<cache home>/files/<sha256>``), from which later renders take them without hashing again:
only while the store's folders belong to this user and no one else can write them
(`envsnap._io.untrusted_folder`); otherwise the store is ignored, once said, and every file is
hashed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename

from .._io import cache_home, file_sha256, link_or_copy, private_dir, untrusted_folder
from .._regex import lazy
from .._subprocess import pip, run
from ..errors import InputError
from ..model import Environment
from ..render.plan import Install, pick_file
from ..render.validate import check_filename

if TYPE_CHECKING:
    import ssl

__all__ = [
    "context_name",
    "download",
    "fetch_all",
    "host_path",
    "keep",
    "locked_name",
    "pick_file",
    "say_once",
    "ssl_context",
    "store_root",
    "stored",
]

_SHA256 = lazy(r"[0-9a-f]{64}")

TIMEOUT_S = 120.0
_CHUNK = 1 << 20
_SDIST_EXT = (".tar.gz", ".zip")
_WARNED: set[str] = set()
_WARN_LOCK = threading.Lock()


def host_path(ref: str, capture_dir: Path) -> Path | None:
    parts = urlsplit(ref)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme:
        return None
    path = Path(ref)
    return path if path.is_absolute() else capture_dir / path


def _mismatch(what: str, sha256: str, got: str) -> InputError:
    return InputError(f"{what}: sha256 mismatch (lock {sha256[:12]}…, file {got[:12]}…)")


def _verify(path: Path, sha256: str, what: str) -> None:
    got = file_sha256(path)
    if got != sha256:
        with contextlib.suppress(OSError):
            path.unlink()
        raise _mismatch(what, sha256, got)


def download(url: str, dest: Path, context: ssl.SSLContext) -> None:
    import urllib.request

    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with (
            # URLs reaching here passed check_url (http/https only).
            urllib.request.urlopen(url, timeout=TIMEOUT_S, context=context) as resp,  # noqa: S310
            open(tmp, "wb") as out,
        ):
            shutil.copyfileobj(resp, out, _CHUNK)
        tmp.replace(dest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise InputError(f"{url}: download failed ({exc})") from None


def _pip_download(name: str, version: str, dest: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="envsnap-dl-") as tmp:
        done = run(pip("download", "--no-deps", "-q", "-d", tmp, f"{name}=={version}"), timeout=600)
        found = sorted(Path(tmp).iterdir())
        if not done.ok or len(found) != 1:
            last = (done.stderr.strip().splitlines() or ["no file"])[-1]
            raise InputError(f"{name}=={version}: pip download failed ({last})")
        target = dest / found[0].name
        shutil.move(str(found[0]), target)
        return target


def context_name(name: str, version: str, filename: str) -> str:
    """The name a locked file gets in the context: its own, except for an archive (a direct
    URL's ``main.zip``) that pip could not match to *name* *version* by file name."""
    if not filename.endswith(_SDIST_EXT):
        return filename
    with contextlib.suppress(InvalidSdistFilename):
        found, got = parse_sdist_filename(filename)
        if found == canonicalize_name(name) and str(got) == version:
            return filename
    ext = next(e for e in _SDIST_EXT if filename.endswith(e))
    return f"{canonicalize_name(name).replace('-', '_')}-{version}{ext}"


def _locked_file(item: Install, env: Environment) -> tuple[str, str, str]:
    """(file name in the context, where it is: URL or path, sha256) of the file *item* installs."""
    pkg = item.package
    if pkg.source == "url":
        assert pkg.url is not None and pkg.archive_sha256 is not None
        name = check_filename(unquote(urlsplit(pkg.url).path).rsplit("/", 1)[-1], pkg.name)
        return context_name(item.name, item.version, name), pkg.url, pkg.archive_sha256
    f = pick_file(pkg, env)
    return context_name(item.name, item.version, f.name), f.path or f.url or "", f.sha256 or ""


def locked_name(item: Install, env: Environment) -> str:
    """The name *item*'s locked file has in the context."""
    return _locked_file(item, env)[0]


def say_once(key: str, message: str, say: Callable[[str], None]) -> None:
    """Say *message* unless a message of *key* was said before in this process."""
    with _WARN_LOCK:
        if key in _WARNED:
            return
        _WARNED.add(key)
    say(message)


def store_root(say: Callable[[str], None]) -> Path | None:
    """The store of verified files, or None (said once) when another user could write to it."""
    root = cache_home() / "files"
    why = untrusted_folder(root)
    if why is None:
        return root
    say_once(
        str(root),
        f"ignoring the store of verified files {root}: {why}; every file is hashed",
        say,
    )
    return None


def stored(sha256: str, say: Callable[[str], None]) -> Path | None:
    """The store's file of digest *sha256*, when the store may be used and holds it as a
    regular file of this user's that no one else can write; else None."""
    root = store_root(say) if _SHA256.fullmatch(sha256) else None
    if root is None:
        return None
    path = root / sha256[:2] / sha256
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    if untrusted_folder(path.parent) is not None:
        say_once(str(path.parent), f"ignoring {path.parent} in the store: not this user's", say)
        return None
    return path


def keep(verified: Path, sha256: str, say: Callable[[str], None]) -> None:
    """Keep *verified* (whose digest is *sha256*) in the store; a failure only costs a re-hash."""
    root = store_root(say) if _SHA256.fullmatch(sha256) else None
    if root is None:
        return
    target = root / sha256[:2] / sha256
    with contextlib.suppress(OSError):
        private_dir(target.parent)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        link_or_copy(verified, tmp)
        tmp.replace(target)


def _fetch_one(
    item: Install,
    env: Environment,
    dest: Path,
    capture_dir: Path,
    *,
    context: Callable[[], ssl.SSLContext],
    say: Callable[[str], None],
) -> str:
    """Put *item*'s file into *dest*; return the file name.

    What is shipped is what was hashed: a host file is copied (a link would let a later write to
    it reach the context) and the copy hashed, every time, unless the store holds the digest.
    """
    pkg = item.package
    name, ref, sha = _locked_file(item, env)
    target = dest / name
    hit = stored(sha, say)
    if hit is not None:
        link_or_copy(hit, target)
        return name
    local = host_path(ref, capture_dir) if ref else None
    if local is not None:
        if not local.is_file():
            raise InputError(f"{local}: locked file of {pkg.name} is gone")
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        shutil.copyfile(local, target)
    elif ref:
        download(ref, target, context())
    else:
        fetched = _pip_download(item.name, item.version, dest)
        if fetched.name != name:
            fetched.replace(target)
    _verify(target, sha, f"{pkg.name} {local or name}")
    keep(target, sha, say)
    return name


def ssl_context(ca_cert: Path | None) -> Callable[[], ssl.SSLContext]:
    """The TLS context for downloads, made on first use: pip's (its ``cert`` setting, else the
    system's certificates), plus *ca_cert*. Loading a CA store is slow, and a render whose files
    are all on this machine downloads nothing."""
    lock = threading.Lock()
    made: list[ssl.SSLContext] = []

    def get() -> ssl.SSLContext:
        with lock:
            if not made:
                import ssl

                from ..index import pipconfig

                cert = pipconfig.load().cert
                try:
                    context = pipconfig.ssl_context(cert)
                except (OSError, ssl.SSLError) as exc:
                    message = f"{cert}: pip's cert setting cannot be loaded ({exc})"
                    raise InputError(message) from None
                if ca_cert is not None:
                    context.load_verify_locations(cafile=str(ca_cert))
                made.append(context)
            return made[0]

    return get


def _each(fn: Callable[[Install], str], items: list[Install], workers: int) -> list[str]:
    """``[fn(i) for i in items]``, *workers* at a time, the first error raised.

    The threads are daemons and the wait is interruptible: Ctrl-C returns at once, even while a
    download stalls (a `ThreadPoolExecutor` would wait for it to finish, at exit too).
    """
    import queue

    todo: queue.SimpleQueue[tuple[int, Install]] = queue.SimpleQueue()
    for n, item in enumerate(items):
        todo.put((n, item))
    results: list[str] = [""] * len(items)
    errors: list[BaseException] = []

    def work() -> None:
        while not errors:
            try:
                n, item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[n] = fn(item)
            except BaseException as exc:  # handed to the caller's thread
                errors.append(exc)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(items)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except BaseException:
        errors.append(KeyboardInterrupt())  # the others stop after their current file
        raise
    if errors:
        raise errors[0]
    return results


def fetch_all(
    items: list[Install],
    env: Environment,
    dest: Path,
    capture_dir: Path,
    *,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, ...]:
    """Fetch every item's file into *dest* (4 at a time); return the sorted file names."""
    say = progress or (lambda _m: None)
    dest.mkdir(parents=True, exist_ok=True)
    context = ssl_context(ca_cert)
    names = _each(
        lambda i: _fetch_one(i, env, dest, capture_dir, context=context, say=say), items, 4
    )
    return tuple(sorted(names))
