"""Names as the packaging standards spell them, recognized without importing `packaging`.

PEP 440 versions in normal form, wheel and sdist file names, conda channel names. A leaf: the
lock writer and reader (`formats`), the index client (`index`) and the conda probe share it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from ._regex import lazy
from ._text import canonical_name

__all__ = [
    "CONDA_SUBDIR",
    "NORMALIZED_NAME",
    "NORMAL_VERSION",
    "normalize_channel",
    "normalized_version",
    "sdist_matches",
    "wheel_matches",
    "wheel_name_version",
]

NORMALIZED_NAME = lazy(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
# A version string packaging.version surely accepts and writes back unchanged (PEP 440 normal
# form: no epoch, no leading zeros, a/b/rc, .postN, .devN, lower-case local segments).
_N = r"(?:0|[1-9][0-9]*)"
_LOCAL = rf"(?:[a-z0-9]*[a-z][a-z0-9]*|{_N})"
NORMAL_VERSION = lazy(
    rf"{_N}(?:\.{_N})*(?:(?:a|b|rc){_N})?(?:\.post{_N})?(?:\.dev{_N})?(?:\+{_LOCAL}(?:\.{_LOCAL})*)?",
    re.ASCII,
)
# A wheel file name `packaging.utils.parse_wheel_filename` surely accepts; the name and version
# parts are compared with the package's by `accepted`.
_WHEEL = lazy(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.]|_(?!_))*)-(?P<version>[^-]+)(?:-[0-9][A-Za-z0-9_.]*)?"
    r"-[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
    r"-[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*-[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*\.whl",
    re.ASCII,
)
# A conda platform subdir (`linux-64`, `noarch`...), the last path segment of a channel URL.
CONDA_SUBDIR = lazy(
    r"^(noarch|(linux|osx|win|emscripten|wasi|zos|freebsd)-"
    r"(32|64|aarch64|arm64|armv6l|armv7l|ppc64le|ppc64|s390x|riscv64|wasm32))$"
)
_ANACONDA_HOSTS = ("conda.anaconda.org", "repo.anaconda.com")


def normalize_channel(channel: str, url: str = "") -> str:
    """Return the channel name conda-lock would use for a record's *channel* (or its *url*).

    ``https://conda.anaconda.org/conda-forge/linux-64`` → ``conda-forge``;
    ``https://repo.anaconda.com/pkgs/main/noarch`` → ``pkgs/main``; other hosts keep their URL
    without the subdir; plain names (``conda-forge``) stay as they are.
    """
    source = channel or (url.rsplit("/", 2)[0] if url.count("/") >= 2 else url)
    if "://" not in source:
        return source.strip("/")
    from ._redact import url as redact_url  # no user:password@, no /t/<token>/

    parts = urlsplit(redact_url(source)[0])
    segments = [s for s in parts.path.split("/") if s]
    if segments and CONDA_SUBDIR.match(segments[-1]):
        segments.pop()
    tokened = len(segments) > 1 and segments[0] == "t"  # /t/<token>/channel keeps its URL
    if parts.hostname in _ANACONDA_HOSTS and segments and not tokened:
        return "/".join(segments)
    return urlunsplit((parts.scheme, parts.netloc, "/" + "/".join(segments), "", ""))


def normalized_version(version: str) -> str | None:
    """*version* in PEP 440 normal form (``str(Version(version))``), None when it is not one.

    Versions already in normal form (nearly all) are recognized without importing
    packaging.version; anything else is parsed by it.
    """
    if NORMAL_VERSION.fullmatch(version) is not None:
        return version
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(version))
    except InvalidVersion:
        return None


def wheel_name_version(filename: str) -> tuple[str, str] | None:
    """(canonical name, version part) of a wheel name `parse_wheel_filename` surely accepts.

    None means "not sure": ask `packaging.utils.parse_wheel_filename`.
    """
    match = _WHEEL.fullmatch(filename)
    return None if match is None else (canonical_name(match["name"]), match["version"])


def wheel_matches(filename: str, name: str, versions: tuple[str, str]) -> bool:
    """True when wheel *filename* is surely of project *name* at one of *versions*."""
    parts = wheel_name_version(filename)
    return parts is not None and parts[1] in versions and parts[0] == name


def sdist_matches(filename: str, name: str, versions: tuple[str, str]) -> bool:
    """True when sdist *filename* (.tar.gz or .zip) is of project *name* at one of *versions*."""
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            stem, _, part = filename[: -len(suffix)].rpartition("-")
            return bool(stem) and part in versions and canonical_name(stem) == name
    return False
