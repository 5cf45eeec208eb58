"""Validation and quoting of untrusted lock data before it reaches a Dockerfile or a pip file.

A lock from elsewhere is untrusted input. Every value that `rebuild` writes into the Dockerfile, a
requirements file or the build context passes one of these checks first: names (PEP 508),
versions (PEP 440), hashes, URLs (scheme allowlist), file names and context paths (confined), and
environment variables. Values are then quoted for the Dockerfile with `docker_quote`.
Each check raises `InputError` naming the lock file and the field.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .._regex import lazy
from ..errors import InputError

__all__ = [
    "HTTP_SCHEMES",
    "VCS_SCHEMES",
    "check_commit",
    "check_context_path",
    "check_env_name",
    "check_filename",
    "check_image",
    "check_name",
    "check_sha256",
    "check_text",
    "check_timestamp",
    "check_url",
    "check_version",
    "docker_quote",
]

HTTP_SCHEMES = frozenset({"https", "http"})
VCS_SCHEMES = frozenset({"https", "http", "ssh", "git", "file", "git+https", "git+ssh", "git+file"})

# PEP 508 names: letters/digits at both ends, ., _ and - inside.
_NAME = lazy(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SHA256 = lazy(r"^[0-9a-f]{64}$")
_COMMIT = lazy(r"^[0-9a-f]{7,64}$")
_ENV_NAME = lazy(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FILENAME = lazy(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
# Docker image references: [registry[:port]/]path[:tag][@sha256:digest]; no spaces or quotes.
_IMAGE = lazy(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
)
_TIMESTAMP = lazy(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_CONTROL = lazy(r"[\x00-\x1f\x7f]")
# An https URL of plain characters, which `check_url` surely accepts: a render checks a thousand
# file URLs of a big lock, and urlsplit was most of its cost.
_PLAIN_HTTPS = lazy(r"https://[A-Za-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9._~%/+=,@:;!$&()*-]*", re.ASCII)


def _fail(where: str, problem: str) -> InputError:
    return InputError(f"{where}: {problem}")


def check_name(name: str, where: str) -> str:
    """Return the canonical form of a PEP 508 distribution *name*, or raise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(where, f"invalid package name {name!r} (PEP 508)")
    return canonicalize_name(name)


def check_version(version: str, where: str) -> str:
    """Return *version* when it is a valid PEP 440 version written as such, or raise."""
    try:
        parsed = Version(version)
    except (InvalidVersion, TypeError):
        raise _fail(where, f"invalid version {version!r} (PEP 440)") from None
    # Version() tolerates surrounding spaces; a lock value must be the bare version.
    if version != version.strip() or _CONTROL.search(version) or " " in version:
        raise _fail(where, f"invalid version {version!r} (PEP 440)")
    del parsed
    return version


def check_sha256(digest: str, where: str) -> str:
    """Return a lowercase hex sha256 *digest*, or raise."""
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise _fail(where, f"invalid sha256 {digest!r}")
    return digest


def check_commit(commit: str, where: str) -> str:
    """Return a hex VCS commit id (git SHA-1 or SHA-256), or raise."""
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        raise _fail(where, f"invalid commit id {commit!r} (expected hex)")
    return commit


def check_text(value: str, where: str, *, limit: int = 4096) -> str:
    """Return *value* when it is one line of printable text, or raise."""
    if not isinstance(value, str) or _CONTROL.search(value) or len(value) > limit:
        raise _fail(where, f"invalid value {value!r} (control characters or too long)")
    return value


def check_url(url: str, where: str, schemes: frozenset[str] = HTTP_SCHEMES) -> str:
    """Return *url* when its scheme is allowed and it has no spaces, quotes or control chars."""
    if "https" in schemes and len(url) <= 4096 and _PLAIN_HTTPS.fullmatch(url):
        return url
    check_text(url, where)
    if any(c in url for c in " \"'`\\<>{}|^"):
        raise _fail(where, f"invalid URL {url!r} (spaces or quotes)")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _fail(where, f"invalid URL {url!r}") from None
    if parts.scheme.lower() not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise _fail(where, f"URL scheme {parts.scheme or '(none)'!r} not allowed ({allowed})")
    if parts.scheme != "file" and not parts.scheme.endswith("+file") and not parts.netloc:
        raise _fail(where, f"invalid URL {url!r} (no host)")
    return url


def check_filename(name: str, where: str) -> str:
    """Return *name* when it is a plain file name (no separators, no leading dot or dash)."""
    if not isinstance(name, str) or not _FILENAME.match(name) or len(name) > 255:
        raise _fail(where, f"invalid file name {name!r}")
    return name


def check_context_path(path: str, where: str) -> str:
    """Return *path* when it is a relative POSIX path that stays inside the build context."""
    check_text(path, where)
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or "\\" in path or any(p in ("..", "") for p in pure.parts):
        raise _fail(where, f"path {path!r} escapes the build context")
    for part in pure.parts:
        if part != "." and not _FILENAME.match(part):
            raise _fail(where, f"invalid path component {part!r}")
    return pure.as_posix()


def check_env_name(name: str, where: str) -> str:
    """Return an environment variable *name* ([A-Za-z_][A-Za-z0-9_]*), or raise."""
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise _fail(where, f"invalid environment variable name {name!r}")
    return name


def check_image(image: str, where: str) -> str:
    """Return a Docker image reference when it is well formed, or raise."""
    if not isinstance(image, str) or not _IMAGE.match(image) or len(image) > 512:
        raise _fail(where, f"invalid image reference {image!r}")
    return image


def check_timestamp(stamp: str, where: str) -> str:
    """Return an RFC 3339 timestamp, or raise."""
    if not isinstance(stamp, str) or not _TIMESTAMP.match(stamp):
        raise _fail(where, f"invalid timestamp {stamp!r} (expected RFC 3339)")
    return stamp


def docker_quote(value: str) -> str:
    """Quote *value* as one double-quoted Dockerfile word for ENV and LABEL.

    Docker's word parser honours backslash escapes of ``"``, ``\\`` and ``$`` inside double
    quotes; ``$`` must be escaped or it would expand build variables. Control characters (a newline
    would start a new instruction) are refused before quoting.
    """
    if _CONTROL.search(value):
        raise InputError(f"refusing to quote a value with control characters: {value!r}")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'
