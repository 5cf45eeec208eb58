"""Wheels of envsnap and its pure-Python dependencies for the image's own /opt/envsnap venv.

envsnap goes into the image apart from the captured packages, like pipx installs a tool. Its
wheel and its dependencies' wheels are packed here from the distributions installed on the host
(all of them are pure Python), so the build needs no index for them and the files are
byte-for-byte reproducible: sorted entries, fixed timestamps.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import zipfile
from collections.abc import Iterable
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from .. import __version__
from ..errors import InputError

__all__ = ["RUNTIME_DEPS", "write_tool"]

# What `envsnap check` and `envsnap capture` import at run time inside the image.
RUNTIME_DEPS = ("packaging", "tomli-w", "nvidia-ml-py", "py-cpuinfo")
_EPOCH = (1980, 1, 1, 0, 0, 0)
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


def _envsnap_members() -> list[tuple[str, bytes]]:
    root = Path(__file__).resolve().parent.parent
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and (p.suffix in (".py", ".toml", ".tmpl") or p.name == "py.typed")
    )
    members = [(f"envsnap/{p.relative_to(root).as_posix()}", p.read_bytes()) for p in files]
    info = f"envsnap-{__version__}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: envsnap\nVersion: {__version__}\n" + "".join(
        f"Requires-Dist: {d}\n" for d in RUNTIME_DEPS
    )
    members.append((f"{info}/METADATA", meta.encode()))
    entry = "[console_scripts]\nenvsnap = envsnap.cli:entry\n"
    members.append((f"{info}/entry_points.txt", entry.encode()))
    return members


def _dist_members(dist: md.Distribution) -> tuple[list[tuple[str, bytes]], str]:
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


def write_tool(dest: Path, python_version: str) -> tuple[str, ...]:
    """Write envsnap's wheel, its dependencies' wheels and a hashed requirements file to *dest*.

    *python_version* is the image's Python: below 3.11 envsnap also needs ``tomli``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    deps = list(RUNTIME_DEPS)
    if Version(python_version) < Version("3.11"):
        deps.append("tomli")
    lines = []
    sha = _pack(
        dest / f"envsnap-{__version__}-py3-none-any.whl",
        _envsnap_members(),
        f"envsnap-{__version__}.dist-info",
    )
    lines.append(f"envsnap=={__version__} --hash=sha256:{sha}")
    for dep in deps:
        try:
            dist = md.distribution(dep)
        except md.PackageNotFoundError:
            raise InputError(
                f"{dep}: not installed here; envsnap needs it to put itself into the image",
                hint=f"pip install {dep}",
            ) from None
        version = dist.version
        members, info = _dist_members(dist)
        stem = canonicalize_name(dep).replace("-", "_")
        sha = _pack(dest / f"{stem}-{version}-py3-none-any.whl", members, info)
        lines.append(f"{canonicalize_name(dep)}=={version} --hash=sha256:{sha}")
    text = "# envsnap and its dependencies, for /opt/envsnap; generated, do not edit\n"
    (dest / "requirements.txt").write_text(text + "\n".join(sorted(lines)) + "\n", "utf-8")
    return tuple(sorted(lines))
