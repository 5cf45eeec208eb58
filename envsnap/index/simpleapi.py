"""The simple repository API, read side: parse PEP 691 JSON and PEP 503 HTML project pages.

Pure functions over page text, so they are tested against pages recorded from real indexes
(PyPI, a file:// mirror). URLs are made absolute and stripped of credentials, so nothing parsed
here can leak a token into a lockfile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import unquote, urljoin, urlsplit

from .._jsonfast import loads
from .._names import normalized_version, wheel_name_version
from .._redact import url as redact_url
from .._text import canonical_name
from ..model import ArtifactFile

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

    from packaging.version import Version

__all__ = [
    "canonical_time",
    "installed_file",
    "parse_html_page",
    "parse_json_page",
    "select_version",
    "tags_of",
]


def canonical_time(text: str) -> str | None:
    """An ISO 8601 upload time as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (UTC), or None."""
    from datetime import datetime, timezone  # only when an index answer has times

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_json_page(text: str, base_url: str) -> list[ArtifactFile]:
    """Parse a PEP 691 JSON project page into files (URLs made absolute, no credentials)."""
    try:
        data = loads(text)
    except (ValueError, RecursionError):
        return []
    out = []
    for f in data.get("files", []) if isinstance(data, dict) else []:
        if not isinstance(f, dict) or not isinstance(f.get("filename"), str):
            continue
        hashes: dict[str, Any] = f["hashes"] if isinstance(f.get("hashes"), dict) else {}
        size = f.get("size")
        upload = f.get("upload-time")
        out.append(
            ArtifactFile(
                name=f["filename"],
                url=redact_url(urljoin(base_url, str(f.get("url", ""))))[0],
                sha256=hashes.get("sha256") if isinstance(hashes.get("sha256"), str) else None,
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                upload_time=canonical_time(upload) if isinstance(upload, str) else None,
            )
        )
    return out


def parse_html_page(text: str, base_url: str) -> list[ArtifactFile]:
    """Parse a PEP 503 HTML page (or find-links page) into files; sha256 from the URL fragment."""
    from html.parser import HTMLParser  # only index pages without PEP 691 JSON need it

    hrefs: list[str] = []

    class Anchors(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            href = dict(attrs).get("href")
            if tag == "a" and href:
                hrefs.append(href)

    Anchors().feed(text)
    out = []
    for href in hrefs:
        url, _, fragment = urljoin(base_url, href).partition("#")
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        algo, _, digest = fragment.partition("=")
        sha = digest if algo == "sha256" and digest else None
        out.append(ArtifactFile(name=name, url=redact_url(url)[0], sha256=sha))
    return out


def _file_version(filename: str) -> tuple[str, Version] | None:
    # packaging.utils (and with it packaging.tags, logging, ...) only for odd names.
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion

    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return name, version


def _name_part(filename: str) -> str:
    """The project name part of a wheel or sdist file name, canonicalized (as packaging does)."""
    if filename.endswith(".whl"):
        return canonical_name(filename.split("-", 1)[0])
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            return canonical_name(filename[: -len(suffix)].rpartition("-")[0])
    return ""


def select_version(
    files: Iterable[ArtifactFile], name: str, version: str
) -> tuple[ArtifactFile, ...]:
    """Pure: the files of exactly *name* *version* (local versions included), sorted by name.

    A file name is read as `packaging.utils` reads it; plain wheel names and every sdist name
    are read here without importing it, and packaging.version is only asked when a file's
    version is not spelled exactly as *version*.
    """
    if normalized_version(version) is None:
        return ()
    target = canonical_name(name)
    seen: dict[str, ArtifactFile] = {}
    for f in files:
        if f.name in seen or _name_part(f.name) != target:
            continue  # another project (or not a distribution): no need to parse the name
        if f.name.endswith(".whl"):
            fast = wheel_name_version(f.name)
            if fast is None:
                found = _file_version(f.name) == (target, _parsed(version))
            else:
                found = _same_version(fast[1], version)
        else:  # _name_part matched: a .tar.gz or .zip with a project name
            stem = f.name.removesuffix(".tar.gz") if f.name.endswith(".tar.gz") else f.name[:-4]
            found = _same_version(stem.rpartition("-")[2], version)
        if found:
            seen[f.name] = f
    return tuple(seen[n] for n in sorted(seen))


def _parsed(version: str) -> Version | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version)
    except InvalidVersion:
        return None


def _same_version(text: str, version: str) -> bool:
    """True when *text* (a file name's version part) is the same PEP 440 version."""
    if text == version:
        return True
    mine = _parsed(text)
    return mine is not None and mine == _parsed(version)


_TAGS: dict[str, frozenset[str]] = {}  # the same few tag lines recur across a whole index


def tags_of(line: str) -> frozenset[str]:
    """The tags of one ``WHEEL`` Tag line as ``interpreter-abi-platform`` strings (compressed sets
    expanded, lower case, as `packaging.tags.parse_tag` reads them); empty when malformed."""
    found = _TAGS.get(line)
    if found is None:
        found = _TAGS[line] = _parse_tags(line)
    return found


def _parse_tags(line: str) -> frozenset[str]:
    parts = [component.split(".") for component in line.split("-")]
    if len(parts) != 3 or any("" in p for p in parts):
        return frozenset()
    interpreters, abis, platforms = parts
    if not all(i.isidentifier() for i in interpreters):
        return frozenset()
    return frozenset(f"{i}-{a}-{p}".lower() for i in interpreters for a in abis for p in platforms)


def installed_file(files: Sequence[ArtifactFile], tags: set[str]) -> str | None:
    """Pure: the wheel whose tags equal (else overlap) the installed *tags*; else the sdist.

    *tags* are `tags_of` strings; *files* are valid file names (from `select_version`).
    """
    wheels = [f.name for f in files if f.name.endswith(".whl")]
    if tags:
        overlap = None
        for fname in wheels:  # numpy has 50 wheels: stop at the exact one
            ftags = tags_of("-".join(fname[: -len(".whl")].rsplit("-", 3)[-3:]))
            if ftags == tags:
                return fname
            if overlap is None and ftags & tags:
                overlap = fname
        if overlap is not None:
            return overlap
    return next((f.name for f in files if not f.name.endswith(".whl")), None)
