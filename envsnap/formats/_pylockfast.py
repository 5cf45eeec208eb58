"""The fast path of `pylock.render`: ``[[packages]]`` tables written straight from our models.

Going through `packaging.pylock` objects (build, ``validate()``, ``to_dict()``: dataclasses.asdict
and deepcopy, then a generic emitter) costs more than a whole ``pip freeze`` for a large lock
(every file of every version; bench/ measures it). The document has a fixed
schema, so it is written here with plain string building, byte for byte what the generic path
wrote. `accepted` is a conservative check that PEP 751 (as `packaging.pylock` reads it) takes a
package; whatever it does not accept is checked with `packaging.pylock` itself by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .._names import NORMALIZED_NAME, sdist_matches, wheel_matches
from .._regex import lazy
from ..model import ArtifactFile, Package
from . import pep751
from .tomlwrite import NEEDS_ESCAPE, toml_string

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["accepted", "package_table"]

# An upload time as the index look-ups store it (UTC, "Z"): written to the lock unchanged.
_UTC_TIME = lazy(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z", re.ASCII)


def accepted(p: Package, version: str | None) -> bool:
    """True when PEP 751 surely takes lockable *p* (*version*: its normalized version, or None).

    False means "not sure": the caller validates the package with `packaging.pylock`.
    """
    if NORMALIZED_NAME.fullmatch(p.name) is None or version is None:
        return False
    if p.source != "index":
        return p.source != "vcs" or bool(p.url)
    versions = (p.version, version)
    hashed = [f for f in p.files if f.sha256]
    sdists = [f for f in hashed if not f.name.endswith(".whl")]
    wheels = [f for f in hashed if f.name.endswith(".whl")]
    return (
        all(f.url or f.path for f in hashed)
        and all(wheel_matches(f.name, p.name, versions) for f in wheels)
        and (not sdists or sdist_matches(sdists[0].name, p.name, versions))
    )


def _time(text: str | None) -> str | None:
    if not text:
        return None
    if _UTC_TIME.fullmatch(text):
        return text  # as `simpleapi.canonical_time` stores it: a TOML datetime already
    from datetime import datetime, timezone  # only for times in another form

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # not a time: PEP 751's upload-time is optional, drop it
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _artifact(f: ArtifactFile) -> str:
    moment = _time(f.upload_time)
    url, sha = f.url, f.sha256 or ""
    if f.path is None and url is not None and NEEDS_ESCAPE.search(f.name + url + sha) is None:
        # The common case (a thousand times for a big environment): nothing to escape.
        out = f'{{ name = "{f.name}"'
        if moment is not None:
            out += f", upload-time = {moment}"
        out += f', url = "{url}"'
        if f.size is not None:
            out += f", size = {f.size}"
        return out + f', hashes = {{ sha256 = "{sha}" }} }}'
    parts = [f"name = {toml_string(f.name)}"]
    if moment is not None:
        parts.append(f"upload-time = {moment}")
    if url is not None:
        parts.append(f"url = {toml_string(url)}")
    if f.path is not None:
        parts.append(f"path = {toml_string(f.path)}")
    if f.size is not None:
        parts.append(f"size = {f.size}")
    parts.append(f"hashes = {{ sha256 = {toml_string(sha)} }}")
    return "{ " + ", ".join(parts) + " }"


def _inline(pairs: Sequence[tuple[str, str | bool | dict[str, str] | None]]) -> str:
    parts = [f"{key} = {_value(value)}" for key, value in pairs if value is not None]
    return "{ " + ", ".join(parts) + " }"


def _value(value: str | bool | list[str] | dict[str, str]) -> str:
    if isinstance(value, dict):
        return _inline(list(value.items()))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_string(v) for v in value) + "]"
    return toml_string(value)


def package_table(
    p: Package, version: str | None, extra: Mapping[str, str | bool | list[str]], path: str = ""
) -> str:
    """One ``[[packages]]`` table of lockable *p*, ending in its ``[packages.tool.envsnap]``.

    *version* is the normalized version (None when it is not a PEP 440 version); *extra* the
    ``[packages.tool.envsnap]`` keys, in order; *path* the ``directory.path`` of a local folder.
    """
    lines = ["[[packages]]", f"name = {toml_string(p.name)}"]
    if version is not None:
        lines.append(f"version = {toml_string(version)}")
    if p.source == "vcs":
        vcs = [(key.name, value) for key, value in pep751.values(p, pep751.VCS)]
        lines.append(f"vcs = {_inline(vcs)}")
    elif p.source == "url":
        derived: dict[str, Any] = {"url": p.url or "", "hashes": {"sha256": p.archive_sha256 or ""}}
        archive = [(key.name, value) for key, value in pep751.values(p, pep751.ARCHIVE, derived)]
        lines.append(f"archive = {_inline(archive)}")
    elif p.source != "index":
        derived = {"path": path, "editable": True if p.source == "editable" else None}
        folder = [(key.name, value) for key, value in pep751.values(p, pep751.DIRECTORY, derived)]
        lines.append(f"directory = {_inline(folder)}")
    else:
        if p.index is not None:
            lines.append(f"index = {toml_string(p.index)}")
        hashed = [f for f in p.files if f.sha256]
        sdists = [f for f in hashed if not f.name.endswith(".whl")]
        if sdists:
            lines.append(f"sdist = {_artifact(sdists[0])}")
        wheels = [f"    {_artifact(f)}," for f in hashed if f.name.endswith(".whl")]
        if wheels:
            lines += ["wheels = [", *wheels, "]"]
    lines += ["", "[packages.tool.envsnap]"]
    lines += [f"{key} = {_value(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


# --- tomli_w's layout, for the small [tool.envsnap] table (saves importing tomli_w) -------------
