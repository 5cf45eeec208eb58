"""Fill the build context with locked files: copied from the host or downloaded, hash-verified.

With ``--wheelhouse`` every locked package's file is fetched on the host and the image installs
with ``--no-index``: a hermetic build that needs no network inside Docker. Without it, only the
files that no index can serve (local find-links folders, ``file://`` indexes and archives) are
copied in. Each file is checked against the lock's sha256 before it is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .._subprocess import run
from ..errors import InputError
from ..model import ArtifactFile, Environment, Package
from .plan import Install
from .validate import check_filename

if TYPE_CHECKING:
    import ssl

__all__ = ["fetch_all", "pick_file", "sha256_of"]

TIMEOUT_S = 120.0
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of the file at *path*."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _tags(name: str) -> frozenset[str]:
    try:
        return frozenset(str(t) for t in parse_wheel_filename(name)[3])
    except InvalidWheelFilename:
        return frozenset()


def pick_file(pkg: Package, env: Environment) -> ArtifactFile:
    """Return the locked file of *pkg* that the captured environment installed, or could."""
    files = [f for f in pkg.files if f.sha256]
    by_name = {f.name: f for f in files}
    if pkg.installed_file and pkg.installed_file in by_name:
        return by_name[pkg.installed_file]
    wanted = list(pkg.wheel_tags) + list(env.python.platform_tags)
    rank = {t: i for i, t in reversed(list(enumerate(wanted)))}
    wheels = [
        (min(rank.get(t, len(rank)) for t in _tags(f.name)), f.name, f)
        for f in files
        if f.name.endswith(".whl") and _tags(f.name) & rank.keys()
    ]
    if wheels:
        return min(wheels, key=lambda w: (w[0], w[1]))[2]
    if len(files) == 1:
        return files[0]
    sdists = [f for f in files if f.name.endswith((".tar.gz", ".zip"))]
    if sdists:
        return sorted(sdists, key=lambda f: f.name)[0]
    raise InputError(f"pylock.toml: {pkg.name}: cannot tell which of {len(files)} files to use")


def _host_path(ref: str, capture_dir: Path) -> Path | None:
    parts = urlsplit(ref)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme:
        return None
    path = Path(ref)
    return path if path.is_absolute() else capture_dir / path


def _verify(path: Path, sha256: str, what: str) -> None:
    got = sha256_of(path)
    if got != sha256:
        with contextlib.suppress(OSError):
            path.unlink()
        raise InputError(f"{what}: sha256 mismatch (lock {sha256[:12]}…, file {got[:12]}…)")


def _link_or_copy(src: Path, dest: Path) -> None:
    # A hard link costs nothing for a multi-GB wheel on the same file system; the hash is
    # still verified on the linked file, and the context is only ever read.
    with contextlib.suppress(FileNotFoundError):
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


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
        done = run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                tmp,
                f"{name}=={version}",
            ],
            timeout=600,
        )
        found = sorted(Path(tmp).iterdir())
        if not done.ok or len(found) != 1:
            last = (done.stderr.strip().splitlines() or ["no file"])[-1]
            raise InputError(f"{name}=={version}: pip download failed ({last})")
        target = dest / found[0].name
        shutil.move(str(found[0]), target)
        return target


def _fetch_one(
    item: Install, env: Environment, dest: Path, capture_dir: Path, context: ssl.SSLContext
) -> str:
    """Put *item*'s file into *dest*; return the file name."""
    pkg = item.package
    if pkg.source == "url":
        assert pkg.url is not None and pkg.archive_sha256 is not None
        name = check_filename(unquote(urlsplit(pkg.url).path).rsplit("/", 1)[-1], pkg.name)
        ref, sha = pkg.url, pkg.archive_sha256
    else:
        f = pick_file(pkg, env)
        name, ref, sha = f.name, f.path or f.url or "", f.sha256 or ""
    target = dest / name
    local = _host_path(ref, capture_dir) if ref else None
    if local is not None:
        if not local.is_file():
            raise InputError(f"{local}: locked file of {pkg.name} is gone")
        _link_or_copy(local, target)
    elif ref:
        _download(ref, target, context)
    else:
        got = _pip_download(item.name, item.version, dest)
        if got.name != name:
            got.replace(target)
    _verify(target, sha, f"{pkg.name} {name}")
    return name


def fetch_all(
    items: list[Install],
    env: Environment,
    dest: Path,
    capture_dir: Path,
    *,
    ca_cert: Path | None = None,
) -> tuple[str, ...]:
    """Fetch every item's file into *dest* (4 at a time); return the sorted file names."""
    import ssl
    from concurrent.futures import ThreadPoolExecutor

    dest.mkdir(parents=True, exist_ok=True)
    context = ssl.create_default_context()
    if ca_cert is not None:
        context.load_verify_locations(cafile=str(ca_cert))
    with ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(lambda i: _fetch_one(i, env, dest, capture_dir, context), items))
    return tuple(sorted(names))
