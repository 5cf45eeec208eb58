"""Fetch the locked conda package files into a folder, sha256-checked, with their manifest.

The conda counterpart of `envsnap.rebuild.wheelhouse`: each file of conda-lock.yml is copied
from this machine (a ``file://`` URL) or downloaded here (pip's TLS settings and
``--ca-cert``), checked against the lock's sha256 and kept in the store of verified files. The
manifest beside the files (`envsnap.rebuild.condalink.MANIFEST`) is what
`envsnap.rebuild.condalink` links from, on the host (``rebuild --prefix``) or in an image's
conda stage, where the files travel in the build context.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from .._io import file_sha256
from .._regex import lazy
from ..errors import InputError
from ..model import CondaEnv, CondaPackage
from ..render.validate import check_filename, check_url
from .condalink import MANIFEST, bad_label
from .wheelhouse import download, host_path, keep, ssl_context, stored

__all__ = ["fetch_conda"]

_SHA256 = lazy(r"[0-9a-f]{64}")


def _what(pkg: CondaPackage) -> str:
    return f"conda-lock.yml: conda package {pkg.name} {pkg.version} {pkg.build}"


def _file_name(pkg: CondaPackage) -> str:
    name = pkg.url.rsplit("/", 1)[-1]
    if not name.endswith((".conda", ".tar.bz2")):
        raise InputError(f"{_what(pkg)}: its URL {pkg.url!r} does not name a conda package file")
    return check_filename(name, f"{_what(pkg)}: file name")


def _fetch(
    pkg: CondaPackage,
    dest: Path,
    capture_dir: Path,
    context: Callable[[], object],
    say: Callable[[str], None],
) -> str:
    field = bad_label(pkg.name, pkg.version, pkg.build)
    if field is not None:  # they name a file in the prefix's conda-meta
        raise InputError(f"conda-lock.yml: conda package {pkg.name!r}: not a conda package {field}")
    if not _SHA256.fullmatch(pkg.sha256):
        raise InputError(
            f"{_what(pkg)}: no sha256 in the lock; a conda file is installed only by its hash",
            hint="recapture the environment with a conda that records sha256 (conda >= 4.7)",
        )
    name = _file_name(pkg)
    target = dest / name
    hit = stored(pkg.sha256, say)
    if hit is not None:
        shutil.copyfile(hit, target)
        return name
    local = host_path(pkg.url, capture_dir)
    if local is not None:
        if not local.is_file():
            raise InputError(f"{_what(pkg)}: its file {local} is gone")
        shutil.copyfile(local, target)
    elif pkg.url.startswith(("https://", "http://")):
        url = check_url(pkg.url, f"{_what(pkg)}: URL")  # what `download` expects of a URL
        download(url, target, context())  # type: ignore[arg-type]
    else:
        raise InputError(f"{_what(pkg)}: its URL {pkg.url!r} is not http(s) or file")
    got = file_sha256(target)
    if got != pkg.sha256:
        with contextlib.suppress(OSError):
            target.unlink()
        raise InputError(
            f"{_what(pkg)}: sha256 mismatch (lock {pkg.sha256[:12]}\u2026, file {got[:12]}\u2026)"
        )
    keep(target, pkg.sha256, say)
    return name


def fetch_conda(
    conda: CondaEnv,
    dest: Path,
    capture_dir: Path,
    *,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, ...]:
    """Fetch every locked conda file of *conda* into *dest* and write its manifest there;
    return the file names (the manifest last)."""
    say = progress or (lambda _m: None)
    dest.mkdir(parents=True, exist_ok=True)
    context = ssl_context(ca_cert)
    entries = []
    for pkg in sorted(conda.packages, key=lambda p: (p.name, p.version, p.build)):
        name = _fetch(pkg, dest, capture_dir, context, say)
        entries.append(
            {
                "build": pkg.build,
                "channel": pkg.channel,
                "file": name,
                "name": pkg.name,
                "sha256": pkg.sha256,
                "url": pkg.url,
                "version": pkg.version,
            }
        )
    manifest = {"version": 1, "packages": entries}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return (*sorted(e["file"] for e in entries), MANIFEST)
