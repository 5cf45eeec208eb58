"""numerics.toml: read and write a numerics fingerprint.

The contract other commands rely on: TOML with a top-level integer ``version``, a string
``battery-version`` and an array of tables ``[[probes]]``, each with at least the strings ``id``
and ``sha256``. `digest` is the "numerics digest" of a capture: the sha256 of one line
``"{id} {sha256}\\n"`` per probe, sorted by id. Output is sorted and byte-for-byte deterministic
(no timings), so re-capturing the same machine leaves the file unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

from envsnap.errors import InputError
from envsnap.model import ModelError, replace

from .model import FORMAT_VERSION, Numerics

__all__ = ["FILENAME", "MAX_BYTES", "digest", "load", "parse", "render"]

FILENAME = "numerics.toml"
MAX_BYTES = 256 * 1024  # small enough to commit; a reader refuses anything four times larger
_READ_LIMIT = 4 * MAX_BYTES
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,99}")  # ids are printed: nothing else

HEADER = (
    "# Numerics fingerprint of this machine, written by `envsnap capture --numerics`.\n"
    "# Generated: do not edit. Compare with `envsnap check --numerics` or `envsnap diff A B`.\n"
)


def render(numerics: Numerics) -> str:
    """The TOML text of *numerics* (probes sorted by id; no timings)."""
    from envsnap.formats.tomlwrite import toml_document

    data = replace(numerics, seconds=None, probes=tuple(sorted(numerics.probes, key=_id))).to_dict()
    data.pop("battery-version", None)
    # pairs become tables: one `"name" = "value"` line each
    if "dispatch" in data:
        data["dispatch"] = dict(data["dispatch"])
    for probe in data.get("probes", ()):
        if "settings" in probe:
            probe["settings"] = dict(probe["settings"])
    data = {"version": FORMAT_VERSION, "battery-version": numerics.battery_version, **data}
    return HEADER + toml_document(data)


def _pairs(table: object, where: str) -> list[list[str]]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise InputError(f"{where}: expected a table of strings")
    return [[k, v] for k, v in table.items()]


def _id(probe: object) -> str:
    return str(getattr(probe, "id", ""))


def parse(text: str, where: str = FILENAME) -> Numerics:
    """Pure: the `Numerics` in *text*; `InputError` naming *where* and the problem."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from None
    version = data.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(f"{where}: version: missing or not an integer")
    if version > FORMAT_VERSION:
        raise InputError(
            f"{where}: version {version} is newer than this envsnap reads ({FORMAT_VERSION})",
            hint="upgrade envsnap",
        )
    probes = data.get("probes", [])
    if not isinstance(probes, list):
        raise InputError(f"{where}: probes: expected an array of tables")
    for i, probe in enumerate(probes):
        if not isinstance(probe, dict) or not isinstance(probe.get("sha256", ""), str):
            raise InputError(f"{where}: probes[{i}]: expected a table with string id and sha256")
        if not _ID.fullmatch(str(probe.get("id", ""))):
            raise InputError(
                f"{where}: probes[{i}].id: expected a probe id like numpy.cpu.gemm-f64"
            )
        if "settings" in probe:
            probe["settings"] = _pairs(probe["settings"], f"{where}: probes[{i}].settings")
    if "dispatch" in data:
        data["dispatch"] = _pairs(data["dispatch"], f"{where}: dispatch")
    try:
        return Numerics.from_dict(data)
    except ModelError as exc:
        raise InputError(f"{where}: {exc}") from None


def load(path: str | os.PathLike[str]) -> Numerics:
    """Read numerics.toml at *path* (a regular file of at most 1 MiB)."""
    from envsnap._io import read_text

    file = Path(path)
    if file.is_symlink() or (file.exists() and not file.is_file()):
        raise InputError(f"{file}: not a regular file")
    if file.is_file() and file.stat().st_size > _READ_LIMIT:
        raise InputError(f"{file}: larger than {_READ_LIMIT // 1024} KiB, not a numerics file")
    return parse(read_text(file, what="numerics file"), str(file))


def digest(numerics: Numerics) -> str:
    """The numerics digest: sha256 of ``"{id} {sha256}\\n"`` per probe, sorted by id."""
    lines = "".join(f"{p.id} {p.sha256}\n" for p in sorted(numerics.probes, key=_id))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
