"""Fill the build context with locked files: copied from the host or downloaded, hash-verified.

With ``--wheelhouse`` every locked package's file is fetched on the host and the image installs
with ``--no-index``: a hermetic build that needs no network inside Docker. Without it, only the
files that no index can serve (local find-links folders, ``file://`` indexes and archives) are
copied in. Each file is checked against the lock's sha256 before it is used.

A locked sdist is not installed from the context as is: pip in the image would need its build
backend (setuptools…) from an index. `build_sdists` fetches it the same way, unpacks it safely
and builds it into a wheel on the host (`envsnap.rebuild.hostwheels.build_wheel`); the image
installs that wheel by its sha256, like a local project's.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .._io import cache_home, file_sha256, link_or_copy, private_dir
from .._record import replace
from .._subprocess import pip, run
from ..errors import InputError
from ..model import Environment, Package
from ..render.plan import Install, pick_file
from ..render.validate import check_context_path, check_filename

if TYPE_CHECKING:
    import ssl

__all__ = ["build_sdists", "fetch_all", "pick_file"]

_SHA256 = re.compile(r"[0-9a-f]{64}")

TIMEOUT_S = 120.0
_CHUNK = 1 << 20


def _host_path(ref: str, capture_dir: Path) -> Path | None:
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


def _download(url: str, dest: Path, context: ssl.SSLContext) -> None:
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


def _locked_file(item: Install, env: Environment) -> tuple[str, str, str]:
    """(file name, where it is: URL or path, sha256) of the file *item* installs."""
    pkg = item.package
    if pkg.source == "url":
        assert pkg.url is not None and pkg.archive_sha256 is not None
        name = check_filename(unquote(urlsplit(pkg.url).path).rsplit("/", 1)[-1], pkg.name)
        return name, pkg.url, pkg.archive_sha256
    f = pick_file(pkg, env)
    return f.name, f.path or f.url or "", f.sha256 or ""


def _fetch_one(
    item: Install,
    env: Environment,
    dest: Path,
    capture_dir: Path,
    context: Callable[[], ssl.SSLContext],
) -> str:
    """Put *item*'s file into *dest*; return the file name.

    What is shipped is what was hashed: a host file is copied (a link would let a later write to
    it reach the context) and the copy hashed, every time, unless the store already holds the
    locked digest. The store is envsnap's own (0700), filled only with files whose hash matched.
    """
    pkg = item.package
    name, ref, sha = _locked_file(item, env)
    target = dest / name
    stored = _stored(sha)
    if stored is not None and stored.is_file():
        link_or_copy(stored, target)
        return name
    local = _host_path(ref, capture_dir) if ref else None
    if local is not None:
        if not local.is_file():
            raise InputError(f"{local}: locked file of {pkg.name} is gone")
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        shutil.copyfile(local, target)
    elif ref:
        _download(ref, target, context())
    else:
        fetched = _pip_download(item.name, item.version, dest)
        if fetched.name != name:
            fetched.replace(target)
    _verify(target, sha, f"{pkg.name} {local or name}")
    if stored is not None:
        _store(target, stored)
    return name


def _stored(sha256: str) -> Path | None:
    """Where the store keeps the file of digest *sha256* (None for a malformed digest)."""
    if not _SHA256.fullmatch(sha256):
        return None
    return cache_home() / "files" / sha256[:2] / sha256


def _store(verified: Path, stored: Path) -> None:
    """Keep *verified* (whose digest matched) in the store; a failure only costs a re-hash."""
    with contextlib.suppress(OSError):
        private_dir(stored.parent)
        tmp = stored.with_name(f".{stored.name}.{os.getpid()}.tmp")
        link_or_copy(verified, tmp)
        tmp.replace(stored)


def _ssl_context(ca_cert: Path | None) -> Callable[[], ssl.SSLContext]:
    """The TLS context for downloads, made on first use: loading the CA store is slow,
    and a render whose files are all on this machine downloads nothing."""
    lock = threading.Lock()
    made: list[ssl.SSLContext] = []

    def get() -> ssl.SSLContext:
        with lock:
            if not made:
                import ssl

                context = ssl.create_default_context()
                if ca_cert is not None:
                    context.load_verify_locations(cafile=str(ca_cert))
                made.append(context)
            return made[0]

    return get


def fetch_all(
    items: list[Install],
    env: Environment,
    dest: Path,
    capture_dir: Path,
    *,
    ca_cert: Path | None = None,
) -> tuple[str, ...]:
    """Fetch every item's file into *dest* (4 at a time); return the sorted file names."""
    from concurrent.futures import ThreadPoolExecutor

    dest.mkdir(parents=True, exist_ok=True)
    context = _ssl_context(ca_cert)
    with ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(lambda i: _fetch_one(i, env, dest, capture_dir, context), items))
    return tuple(sorted(names))


def _check_member(name: str, archive: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith("/") or ".." in parts:
        raise InputError(f"{archive}: sdist member {name!r} points outside the archive")


def _unpack(archive: Path, into: Path, what: str) -> Path:
    """Unpack an sdist into *into*, refusing members that would land outside it or are links;
    return the project folder (the archive's single top folder)."""
    into.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    _check_member(name, what)
                zf.extractall(into)  # noqa: S202 - members checked above
        else:
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    _check_member(member.name, what)
                    if not (member.isfile() or member.isdir()):
                        raise InputError(f"{what}: sdist member {member.name!r} is not a file")
                # The "data" filter (Python >= 3.9.17) also drops modes and owners.
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(into, filter="data")
                else:  # pragma: no cover - old Pythons only
                    tf.extractall(into)  # noqa: S202 - members checked above
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{what}: cannot unpack the sdist ({exc})") from None
    tops = list(into.iterdir())
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else into


def build_sdists(
    items: list[Install],
    env: Environment,
    dest: Path,
    capture_dir: Path,
    *,
    ca_cert: Path | None = None,
) -> dict[str, tuple[str, str]]:
    """Fetch each item's locked sdist (hash-verified), build it into a wheel in *dest* on this
    machine; return ``{name: (wheel file name, sha256)}``."""
    from .hostwheels import (  # pip and the wheel cache: only when an sdist is built
        build_wheel,
        cached_wheel,
    )
    from .wheelcache import archive_key

    context = _ssl_context(ca_cert)
    built = {}
    for item in items:
        # The wheel cache knows a locked sdist by its hash: a warm render fetches nothing.
        key = archive_key(_locked_file(item, env)[2], item.package.subdirectory)
        hit = cached_wheel(item, dest, key)
        if hit is not None:
            built[item.name] = hit
            continue
        with tempfile.TemporaryDirectory(prefix="envsnap-sdist-") as tmp:
            work = Path(tmp)
            (work / "dl").mkdir()
            name = _fetch_one(item, env, work / "dl", capture_dir, context)
            src = _unpack(work / "dl" / name, work / "src", f"{item.name} {name}")
            if item.package.subdirectory:  # a direct-URL archive may name a folder in it
                src = src / check_context_path(item.package.subdirectory, item.name)
            # Built exactly like a local project: pip wheel --no-deps, the locked version checked.
            as_dir = Package(
                name=item.name, version=item.version, source="directory", url=src.as_uri()
            )
            project = replace(item, how="build", package=as_dir)
            built[item.name] = build_wheel(project, dest, capture_dir, key=key)
    return built
