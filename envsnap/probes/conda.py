"""A conda environment, read from `<prefix>/conda-meta/*.json` (no conda binary needed).

Each JSON record is what conda (or mamba) wrote when it linked a package: name, version, build,
channel, url, md5, sha256, subdir, depends. Channel URLs are shortened the way conda-lock names
channels (``https://conda.anaconda.org/conda-forge/linux-64`` → ``conda-forge``) and credentials
(``user:pass@``, ``/t/<token>/``) are masked, since the lock is meant to be shared.
"""

from __future__ import annotations

import json
import os
import platform as _platform
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from envsnap._io import read_text
from envsnap._names import CONDA_SUBDIR as _SUBDIR
from envsnap._names import normalize_channel
from envsnap._redact import url as redact_url
from envsnap._text import canonical_name
from envsnap.errors import InputError
from envsnap.model import CondaEnv, CondaPackage, Package

__all__ = [
    "drop_conda_owned",
    "machine_platform",
    "normalize_channel",
    "parse_record",
    "probe",
    "virtual_packages",
]


def machine_platform() -> str:
    """Return this machine's conda subdir, e.g. ``linux-64`` or ``osx-arm64``."""
    system = {"Linux": "linux", "Darwin": "osx", "Windows": "win"}.get(_platform.system(), "linux")
    machine = _platform.machine().lower()
    arch = {
        "x86_64": "64",
        "amd64": "64",
        "aarch64": "aarch64" if system == "linux" else "arm64",
        "arm64": "arm64" if system != "linux" else "aarch64",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
    }.get(machine, "64")
    return f"{system}-{arch}"


def _release(text: str) -> str:
    """The leading dotted number of a kernel release (``6.1.0-18-amd64`` → ``6.1.0``)."""
    parts = []
    for part in text.split("-", 1)[0].split("."):
        if not part.isdigit():
            break
        parts.append(part)
    return ".".join(parts)


def virtual_packages(cuda_driver_version: str | None) -> tuple[tuple[str, str], ...]:
    """This machine's conda virtual packages that a lock depends on, as conda names them:
    ``__glibc`` (the C library's version), ``__linux`` (the kernel's) and ``__cuda`` (the CUDA
    version the NVIDIA driver supports, from NVML; absent without a driver)."""
    found: list[tuple[str, str]] = []
    if cuda_driver_version:
        found.append(("__cuda", cuda_driver_version))
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # not glibc (musl, macOS): no __glibc
        libc = ""
    name, _, version = libc.partition(" ")
    if name == "glibc" and version:
        found.append(("__glibc", version))
    if _platform.system() == "Linux":
        release = _release(_platform.release())
        if release:
            found.append(("__linux", release))
    return tuple(found)


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise InputError(f"{where}: missing {key!r}")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InputError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    return str(value)


def parse_record(data: Any, where: str) -> CondaPackage:
    """Turn one decoded `conda-meta/*.json` record into a `CondaPackage` (pure)."""
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
    depends = data.get("depends", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise InputError(f"{where}: 'depends' must be a list of strings")
    url = redact_url(_text(data, "url", where))[0]
    subdir = _text(data, "subdir", where)
    if not subdir and url.count("/") >= 2 and _SUBDIR.match(url.rsplit("/", 2)[-2]):
        subdir = url.rsplit("/", 2)[-2]
    return CondaPackage(
        name=_text(data, "name", where, required=True),
        version=_text(data, "version", where, required=True),
        build=_text(data, "build", where, required=True),
        channel=normalize_channel(_text(data, "channel", where), url),
        url=url,
        md5=_text(data, "md5", where),
        sha256=_text(data, "sha256", where),
        platform=subdir,
        depends=tuple(sorted(depends)),
    )


def _env_platform(packages: Iterable[CondaPackage]) -> str:
    counts = Counter(p.platform for p in packages if p.platform and p.platform != "noarch")
    if not counts:
        return machine_platform()
    # most records, then name, so that a tie is still deterministic
    return min(counts, key=lambda s: (-counts[s], s))


def probe(prefix: str) -> CondaEnv | None:
    """Read the conda environment at *prefix*; None when it has no `conda-meta` folder.

    A record that is not valid JSON, or lacks name/version/build, raises `InputError` naming it.
    """
    meta = Path(prefix) / "conda-meta"
    if not meta.is_dir():
        return None
    packages: list[CondaPackage] = []
    for path in sorted(meta.glob("*.json")):
        text = read_text(path, what="conda-meta record")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
        packages.append(parse_record(data, str(path)))
    packages.sort(key=lambda p: (p.name, p.version, p.build))
    channels = sorted({p.channel for p in packages if p.channel})
    return CondaEnv(
        platform=_env_platform(packages), channels=tuple(channels), packages=tuple(packages)
    )


def _same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def drop_conda_owned(packages: Sequence[Package], conda_env: CondaEnv) -> tuple[Package, ...]:
    """Drop the distributions conda installed; pip packages installed on top stay.

    A distribution is conda's when its INSTALLER says ``conda``, or when conda-meta lists a
    package with the same normalized name and version (older conda wrote no INSTALLER).
    """
    owned: dict[str, list[str]] = {}
    for cp in conda_env.packages:
        owned.setdefault(canonical_name(cp.name), []).append(cp.version)
    kept = []
    for pkg in packages:
        if (pkg.installer or "").strip().lower() == "conda":
            continue
        if any(_same_version(pkg.version, v) for v in owned.get(canonical_name(pkg.name), ())):
            continue
        kept.append(pkg)
    return tuple(kept)
