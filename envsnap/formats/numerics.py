"""numerics.toml: the numerics fingerprint of a machine (its records), read and written.

A fingerprint is probe results and the dispatch facts behind them. Settings and dispatch facts
are flat ``(name, value)`` string pairs (``blas.numpy.threads = "2"``), so that two captures
compare key by key and the file stays plain.

The contract other commands rely on: TOML with a top-level integer ``schema-version`` (files
written before it was named so say ``version``, and are still read), a string
``battery-version`` and an array of tables ``[[probes]]``, each with at least the strings ``id``
and ``sha256``. `digest` is the "numerics digest" of a capture: the sha256 of one line
``"{id} {sha256}\\n"`` per probe, sorted by id. Output is sorted and byte-for-byte deterministic
(no timings), so re-capturing the same machine leaves the file unchanged. The battery and the
comparison are `envsnap.numerics`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any, ClassVar

from envsnap._record import record
from envsnap.errors import InputError
from envsnap.model import Model, ModelError, replace

from .._regex import lazy

__all__ = [
    "FILENAME",
    "FORMAT_VERSION",
    "MAX_BYTES",
    "Framework",
    "Numerics",
    "ProbeResult",
    "digest",
    "load",
    "parse",
    "render",
]

FORMAT_VERSION = 1


@record
class ProbeResult(Model):
    """One probe as it ran on one machine.

    `sha256` is the digest of the output's bytes (native dtype, C order, little-endian on every
    platform envsnap runs on); `sample` holds fixed output elements as exact hex floats
    (`float.hex`), taken at the indices `_battery._indices(size, 32)`; the errors are against a
    float64-or-better reference, on up to 256 fixed elements. `error` is set when the probe
    raised instead of returning.
    """

    id: str
    sha256: str = ""
    framework: str = ""
    device: str = ""
    kind: str = ""
    dtype: str = ""
    shape: tuple[int, ...] = ()
    deterministic: bool = True
    settings: tuple[tuple[str, str], ...] = ()
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    max_ulps: int | None = None
    sample: tuple[str, ...] = ()
    run_sha256: tuple[str, ...] = ()
    error: str = ""

    def setting(self, name: str) -> str:
        """The value of setting *name*, or ""."""
        return dict(self.settings).get(name, "")


@record
class Framework(Model):
    """Whether a framework could be imported by the battery, and why not."""

    name: str
    status: str  # "ok" or "missing"
    reason: str = ""


@record
class Numerics(Model):
    """A numerics fingerprint: which battery ran, whether it finished, what it found."""

    _nested: ClassVar[Mapping[str, Any]] = {"frameworks": (Framework,), "probes": (ProbeResult,)}

    battery_version: str
    complete: bool = True
    reason: str = ""  # why not complete (the time limit), empty when complete
    seconds: float | None = None
    frameworks: tuple[Framework, ...] = ()
    dispatch: tuple[tuple[str, str], ...] = ()
    probes: tuple[ProbeResult, ...] = ()

    def fact(self, name: str) -> str:
        """The dispatch fact *name* (``torch.cpu-capability``), or ""."""
        return dict(self.dispatch).get(name, "")

    def probe(self, probe_id: str) -> ProbeResult | None:
        """The result of probe *probe_id*, or None."""
        return next((p for p in self.probes if p.id == probe_id), None)

    def framework(self, name: str) -> Framework | None:
        """The import status of framework *name*, or None when the battery did not try it."""
        return next((f for f in self.frameworks if f.name == name), None)


FILENAME = "numerics.toml"
MAX_BYTES = 256 * 1024  # small enough to commit; the in door refuses anything four times larger
_ID = lazy(r"[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,99}")  # ids are printed: nothing else

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
    data = {"schema-version": FORMAT_VERSION, "battery-version": numerics.battery_version, **data}
    return HEADER + toml_document(data)


def _pairs(table: object, where: str) -> list[list[str]]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise InputError(f"{where}: expected a table of strings")
    return [[k, v] for k, v in table.items()]


def _id(probe: object) -> str:
    return str(getattr(probe, "id", ""))


def parse(text: str, where: str = FILENAME) -> Numerics:
    """Pure: the `Numerics` in *text*; `InputError` naming *where* and the problem."""
    from ._read import schema_version, toml_table

    data = toml_table(text, where)
    if "schema-version" not in data and "version" in data:  # written before the key was unified
        data["schema-version"] = data.pop("version")
    schema_version(data, where, FORMAT_VERSION)
    del data["schema-version"]
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
    battery = data.get("battery-version", "")
    if not isinstance(battery, str) or not battery.isprintable() or len(battery) > 100:
        raise InputError(f"{where}: battery-version: expected a one-line string")
    try:
        return Numerics.from_dict(data)
    except ModelError as exc:
        raise InputError(f"{where}: {exc}") from None


def load(path: str | os.PathLike[str]) -> Numerics:
    """Read numerics.toml at *path* through the in door (a regular file of at most 1 MiB)."""
    from ._read import read

    result: Numerics = read(path, FILENAME)
    return result


def digest(numerics: Numerics) -> str:
    """The numerics digest: sha256 of ``"{id} {sha256}\\n"`` per probe, sorted by id."""
    lines = "".join(f"{p.id} {p.sha256}\n" for p in sorted(numerics.probes, key=_id))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
