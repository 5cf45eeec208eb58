"""The numerics fingerprint of a machine: probe results and the dispatch facts behind them.

`from_battery` turns the JSON that `_battery.py` prints into a `Numerics` (pure). Settings and
dispatch facts are flat ``(name, value)`` string pairs (``blas.numpy.threads = "2"``), so that
two captures compare key by key and the file stays plain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from envsnap._record import record
from envsnap.model import Model, ModelError

__all__ = [
    "FORMAT_VERSION",
    "Framework",
    "Numerics",
    "ProbeResult",
    "flatten",
    "from_battery",
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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(data: Mapping[str, Any], prefix: str = "") -> tuple[tuple[str, str], ...]:
    """``{"a": {"b": 1}}`` -> ``(("a.b", "1"),)``, sorted by name (pure)."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(flatten(value, name + "."))
        elif isinstance(value, list):
            out.extend((f"{name}.{i}", _text(v)) for i, v in enumerate(value))
        else:
            out.append((name, _text(value)))
    return tuple(sorted(out))


def _dispatch(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    facts = dict(flatten({k: v for k, v in data.items() if k not in ("threadpools", "gpus")}))
    for pool in data.get("threadpools") or ():
        if isinstance(pool, Mapping):
            owner = pool.get("owner") or pool.get("library") or "other"
            api = pool.get("user-api") or "pool"
            for key, value in pool.items():
                if key not in ("owner", "user-api"):
                    facts[f"{api}.{owner}.{key}"] = _text(value)
    for gpu in data.get("gpus") or ():
        if isinstance(gpu, Mapping):
            for key, value in gpu.items():
                facts[f"gpu.{gpu.get('index', 0)}.{key}"] = _text(value)
    return tuple(sorted(facts.items()))


_PROBE_KEYS = {
    "class": "kind",
}


def from_battery(data: Any) -> Numerics:
    """A `Numerics` from the battery's JSON output (pure); `ModelError` when it is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("probes"), list):
        raise ModelError("battery output: expected an object with a probes array")
    probes = []
    for i, raw in enumerate(data["probes"]):
        if not isinstance(raw, Mapping):
            raise ModelError(f"battery output: probes[{i}]: expected an object")
        item = {_PROBE_KEYS.get(k, k): v for k, v in raw.items()}
        item["settings"] = [list(p) for p in flatten(item.get("settings") or {})]
        item.pop("sample-index", None)
        item.pop("seconds", None)
        probes.append({str(k).replace("_", "-"): v for k, v in item.items()})
    frameworks = [
        {"name": name, "status": str(v.get("status", "")), "reason": str(v.get("reason", ""))}
        for name, v in sorted((data.get("frameworks") or {}).items())
        if isinstance(v, Mapping)
    ]
    return Numerics.from_dict(
        {
            "battery-version": str(data.get("battery-version", "")),
            "seconds": float(data.get("seconds") or 0.0),
            "frameworks": frameworks,
            "dispatch": [list(p) for p in _dispatch(data.get("dispatch") or {})],
            "probes": probes,
        },
        "battery output",
    )
