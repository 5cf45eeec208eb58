"""Wheels of envsnap and its pure-Python dependencies for the image's own /opt/envsnap venv.

envsnap goes into the image apart from the captured packages, like pipx installs a tool. Its
wheel and its dependencies' wheels are packed here from the distributions installed on the host
(all of them are pure Python), so the build needs no index for them and the files are
byte-for-byte reproducible: sorted entries, fixed timestamps.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from .. import __version__
from .._defaults import DISTRIBUTION
from ..errors import InputError

__all__ = ["RUNTIME_DEPS", "write_tool"]

# What `envsnap check` and `envsnap capture` import at run time inside the image.
RUNTIME_DEPS = ("packaging", "tomli-w", "py-cpuinfo")
_EPOCH = (1980, 1, 1, 0, 0, 0)
# The wheel's file and dist-info stem (PEP 427: the normalized name with "_"), e.g. envsnap_ml.
_STEM = canonicalize_name(DISTRIBUTION).replace("-", "_")
_WHEEL = "Wheel-Version: 1.0\nGenerator: envsnap\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _pack(path: Path, members: Iterable[tuple[str, bytes]], dist_info: str) -> str:
    """Write a wheel with *members* plus WHEEL and RECORD; return its sha256."""
    entries = dict(members)
    entries[f"{dist_info}/WHEEL"] = _WHEEL.encode()
    record = [f"{n},{_record_hash(d)},{len(d)}" for n, d in sorted(entries.items())]
    record.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name], compresslevel=1)
    return hashlib.sha256(path.read_bytes()).hexdigest()


_ROOT = Path(__file__).resolve().parent.parent


def _envsnap_files() -> list[Path]:
    return sorted(
        p
        for p in _ROOT.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and (p.suffix in (".py", ".toml") or p.name == "py.typed")
    )


def _envsnap_members(files: list[Path]) -> list[tuple[str, bytes]]:
    root = _ROOT
    members = [(f"envsnap/{p.relative_to(root).as_posix()}", p.read_bytes()) for p in files]
    info = f"{_STEM}-{__version__}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {__version__}\n" + "".join(
        f"Requires-Dist: {d}\n" for d in RUNTIME_DEPS
    )
    members.append((f"{info}/METADATA", meta.encode()))
    entry = "[console_scripts]\nenvsnap = envsnap.cli:entry\n"
    members.append((f"{info}/entry_points.txt", entry.encode()))
    return members


def _dist_members(dist: Any) -> tuple[list[tuple[str, bytes]], str]:
    files = dist.files or []
    members = []
    info = ""
    for f in files:
        name = f.as_posix()
        if name.startswith("..") or "__pycache__" in name or name.endswith((".pyc", "RECORD")):
            continue
        if name.endswith((".dist-info/INSTALLER", ".dist-info/REQUESTED", "direct_url.json")):
            continue
        if ".dist-info/" in name:
            info = name.split("/")[0]
        if name.endswith(".dist-info/WHEEL"):
            continue
        members.append((name, Path(str(dist.locate_file(f))).read_bytes()))
    return members, info


def _cache_dir() -> Path:
    """``<cache home>/tool`` (`envsnap._io.cache_home`)."""
    from .._io import cache_home

    return cache_home() / "tool"


def _installed() -> dict[str, str]:
    """{canonical name: version} of the dist-info folders on sys.path, first one wins.

    A directory scan, not importlib.metadata: that import alone costs tens of milliseconds,
    and the wheels are usually cached.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = sorted(
                e.name for e in os.scandir(entry or ".") if e.name.endswith(".dist-info")
            )
        except OSError:
            continue
        for name in names:
            dist, _, version = name[: -len(".dist-info")].partition("-")
            found.setdefault(canonicalize_name(dist), version)
    return found


def _versions(needs_tomli: bool) -> list[tuple[str, str]]:
    deps = [*RUNTIME_DEPS, "tomli"] if needs_tomli else list(RUNTIME_DEPS)
    installed = _installed()
    out = []
    for dep in deps:
        version = installed.get(canonicalize_name(dep))
        if version is None:
            raise InputError(
                f"{dep}: not installed here; envsnap needs it to put itself into the image",
                hint=f"pip install {dep}",
            )
        out.append((dep, version))
    return out


def _key(files: list[Path], versions: list[tuple[str, str]]) -> str:
    """What the tool wheels are made of: envsnap's files (size, mtime) and the dep versions."""
    digest = hashlib.sha256(f"{DISTRIBUTION} {__version__}\n".encode())
    for p in files:
        st = p.stat()
        digest.update(f"{p.relative_to(_ROOT)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for dep, version in versions:
        digest.update(f"{dep}=={version}\n".encode())
    return digest.hexdigest()[:24]


@functools.lru_cache(maxsize=2)
def _sources(needs_tomli: bool) -> tuple[list[Path], list[tuple[str, str]], str]:
    """envsnap's files, the dependency versions and their cache key (once per process)."""
    files, versions = _envsnap_files(), _versions(needs_tomli)
    return files, versions, _key(files, versions)


def _build(dest: Path, files: list[Path], versions: list[tuple[str, str]]) -> None:
    import importlib.metadata as md  # costly to import: only when the cache misses

    lines = []
    sha = _pack(
        dest / f"{_STEM}-{__version__}-py3-none-any.whl",
        _envsnap_members(files),
        f"{_STEM}-{__version__}.dist-info",
    )
    lines.append(f"{canonicalize_name(DISTRIBUTION)}=={__version__} --hash=sha256:{sha}")
    for dep, version in versions:
        dist = md.distribution(dep)
        members, info = _dist_members(dist)
        stem = canonicalize_name(dep).replace("-", "_")
        sha = _pack(dest / f"{stem}-{version}-py3-none-any.whl", members, info)
        lines.append(f"{canonicalize_name(dep)}=={version} --hash=sha256:{sha}")
    text = "# envsnap and its dependencies, for /opt/envsnap; generated, do not edit\n"
    (dest / "requirements.txt").write_text(text + "\n".join(sorted(lines)) + "\n", "utf-8")


def write_tool(
    dest: Path, python_version: str, *, progress: Callable[[str], None] | None = None
) -> None:
    """Write envsnap's wheel, its dependencies' wheels and a hashed requirements file to *dest*.

    *python_version* is the image's Python: below 3.11 envsnap also needs ``tomli``. The wheels
    are cached by what they are made of, so rendering a context stays cheap; a cache folder
    that another user could write is ignored (said once through *progress*): its wheels would
    become the image's envsnap.
    """
    from .._io import untrusted_folder

    dest.mkdir(parents=True, exist_ok=True)
    files, versions, key = _sources(Version(python_version) < Version("3.11"))
    cached = _cache_dir() / key
    why = untrusted_folder(cached)
    if why is not None:
        from .wheelhouse import say_once

        message = f"ignoring the cache of envsnap's own wheels {cached.parent}: {why}"
        say_once(str(cached.parent), message, progress or (lambda _m: None))
        _build(dest, files, versions)
        return
    if (cached / "requirements.txt").is_file():
        for p in cached.iterdir():
            shutil.copyfile(p, dest / p.name)
        return
    _build(dest, files, versions)
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        from .._io import private_dir

        private_dir(cached.parent)
        tmp = Path(tempfile.mkdtemp(prefix=".tool-", dir=cached.parent))
        for p in dest.iterdir():
            shutil.copyfile(p, tmp / p.name)
        try:
            tmp.rename(cached)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
