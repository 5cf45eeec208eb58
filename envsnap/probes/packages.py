"""Installed distributions: read `*.dist-info` (and `*.egg-info`) folders without importing them.

Only the METADATA headers up to the first blank line are read, plus the small PEP 610 / PEP 376
marker files (`direct_url.json`, `REQUESTED`, `INSTALLER`, `WHEEL`), so a scan costs a handful of
system calls per distribution and grows linearly with their number.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .._jsonfast import loads
from .._text import canonical_name as canonicalize_name
from ..errors import InputError
from ..model import Package

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["parse_direct_url", "parse_metadata_headers", "read_distribution", "scan"]

_HINT = "reinstall that distribution (pip install --force-reinstall NAME) or delete the folder"


def scan(site_dirs: Sequence[str], withheld: list[str] | None = None) -> tuple[Package, ...]:
    """Return every distribution installed in *site_dirs*, sorted by normalized name.

    The first occurrence in *site_dirs* order wins, as on ``sys.path``; shadowed copies are
    ignored. A broken METADATA raises `InputError` naming the file. The fields that lost
    credentials (``packages.NAME.url``) are appended to *withheld*.
    """
    found: dict[str, Package] = {}
    for site in site_dirs:
        for path in _meta_dirs(site):
            pkg = read_distribution(path, withheld)
            if pkg is not None and pkg.name not in found:
                found[pkg.name] = pkg
    return tuple(found[name] for name in sorted(found))


def _meta_dirs(site: str) -> Iterator[str]:
    try:
        entries = sorted((e.name, e.path) for e in os.scandir(site))
    except OSError:
        return
    for name, path in entries:
        # "~name.dist-info" is a leftover of an interrupted pip run; pip ignores it too.
        if name.endswith((".dist-info", ".egg-info")) and not name.startswith("~"):
            yield path


def read_distribution(path: str, withheld: list[str] | None = None) -> Package | None:
    """Read one `.dist-info` / `.egg-info` folder (or egg-info file) into a `Package`."""
    if path.endswith(".egg-info"):
        return _read_egg_info(path)
    # Opening the few known files directly (a missing one is a cheap ENOENT) costs far less
    # than listing every dist-info folder.
    metadata = f"{path}/METADATA"
    head = _read(metadata, head=True, optional=True)
    if head is None:
        if not Path(path).is_dir():
            return None
        raise InputError(f"{metadata}: missing", hint=_HINT)
    name, version = _name_version(metadata, head)
    fields: dict[str, Any] = {"source": "index"}
    direct = f"{path}/direct_url.json"
    direct_text = _read(direct, optional=True)
    if direct_text is not None:
        try:
            data = loads(direct_text)
        except RecursionError:
            raise InputError(f"{direct}: not valid JSON (nested too deeply)", hint=_HINT) from None
        except ValueError as exc:
            raise InputError(f"{direct}: not valid JSON ({exc})", hint=_HINT) from None
        fields = parse_direct_url(data, direct)
        if fields.pop("withheld", False) and withheld is not None:
            withheld.append(f"packages.{name}.url")
    installer = (_read(f"{path}/INSTALLER", optional=True) or "").strip()
    tags = _wheel_tags(_read(f"{path}/WHEEL", optional=True) or "")
    return Package(
        name=name,
        version=version,
        requested=os.path.exists(f"{path}/REQUESTED"),  # noqa: PTH110 (hot path: no Path objects)
        installer=installer or None,
        wheel_tags=tags,
        **fields,
    )


def _read_egg_info(path: str) -> Package | None:
    folder = Path(path)
    pkg_info = str(folder / "PKG-INFO") if folder.is_dir() else path
    if not Path(pkg_info).is_file():
        return None
    name, version = _name_version(pkg_info, _read(pkg_info, head=True) or "")
    return Package(name=name, version=version, source="index")


def _read(path: str, *, head: bool = False, optional: bool = False) -> str | None:
    """Read a small UTF-8 file with raw os calls (io.open costs more than the read itself).

    With *head*, stop at the first blank line: the header block of email-style metadata.
    With *optional*, a missing file (or a folder in its place) gives None.
    """
    chunks: list[bytes] = []
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            while chunk := os.read(fd, 16384):
                chunks.append(chunk)
                if head and (b"\n\n" in chunk or b"\n\r\n" in chunk):
                    break
        finally:
            os.close(fd)
        data = b"".join(chunks).replace(b"\r\n", b"\n") if head else b"".join(chunks)
        # Cut before decoding: the last chunk may end inside a multi-byte character.
        text = (data.split(b"\n\n", 1)[0] if head else data).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text", hint=_HINT) from None
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        if optional:
            return None
        raise InputError(f"{path}: missing", hint=_HINT) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", hint=_HINT) from None
    return text


def _name_version(path: str, head: str) -> tuple[str, str]:
    headers = parse_metadata_headers(head, only=("name", "version"))
    name = headers.get("name", "")
    if not name:
        raise InputError(f"{path}: no Name header in the metadata", hint=_HINT)
    version = headers.get("version", "")
    if not version:
        raise InputError(f"{path}: no Version header for {name}", hint=_HINT)
    return canonicalize_name(name), version


def parse_metadata_headers(head: str, only: Sequence[str] = ()) -> dict[str, str]:
    """Parse ``Key: value`` header lines (lower-cased keys, first occurrence wins).

    Continuation lines (starting with whitespace) are skipped: Name and Version never fold.
    With *only* (lower-case keys), stop as soon as those are found (they come first in
    practice, before dozens of Classifier lines).
    """
    out: dict[str, str] = {}
    wanted = set(only)
    for line in head.splitlines():
        if not line or line[0] in " \t":
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        out.setdefault(key, value.strip())
        if wanted:
            wanted.discard(key)
            if not wanted:
                break
    return out


def _wheel_tags(text: str) -> tuple[str, ...]:
    return tuple(
        line.partition(":")[2].strip()
        for line in text.splitlines()
        if line.lower().startswith("tag:")
    )


def parse_direct_url(data: Any, path: str = "direct_url.json") -> dict[str, Any]:
    """Turn a PEP 610 ``direct_url.json`` document into `Package` keyword arguments."""
    if not isinstance(data, Mapping) or not isinstance(data.get("url"), str):
        raise InputError(f"{path}: not a PEP 610 direct URL record (no 'url')", hint=_HINT)
    from .._redact import url as redact_url

    # Redacted here, where it enters: credentials never reach the lock, a cache or a message.
    url, cut = redact_url(data["url"])
    fields: dict[str, Any] = {"url": url}
    if cut:
        fields["withheld"] = True
    if isinstance(data.get("subdirectory"), str):
        fields["subdirectory"] = data["subdirectory"]
    vcs, archive, folder = (data.get(k) for k in ("vcs_info", "archive_info", "dir_info"))
    if isinstance(vcs, Mapping):
        fields["source"] = "vcs"
        for key in ("vcs", "commit_id", "requested_revision"):
            if isinstance(vcs.get(key), str):
                fields[key] = vcs[key]
    elif isinstance(archive, Mapping):
        fields["source"] = "url"
        fields["archive_sha256"] = _archive_sha256(archive)
    elif isinstance(folder, Mapping):
        fields["source"] = "editable" if folder.get("editable") is True else "directory"
    else:
        raise InputError(f"{path}: no vcs_info, archive_info or dir_info", hint=_HINT)
    return fields


def _archive_sha256(info: Mapping[str, Any]) -> str | None:
    hashes = info.get("hashes")
    if isinstance(hashes, Mapping) and isinstance(hashes.get("sha256"), str):
        return str(hashes["sha256"])
    legacy = info.get("hash")  # PEP 610's deprecated "sha256=<hex>" form
    if isinstance(legacy, str) and legacy.startswith("sha256="):
        return legacy[len("sha256=") :]
    return None
