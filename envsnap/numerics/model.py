"""The numerics fingerprint of a machine, from the battery's output.

`from_battery` turns the JSON that `_battery.py` prints into a `Numerics` (pure). The records
(`Numerics`, `ProbeResult`, `Framework`) belong to numerics.toml's format module,
`envsnap.formats.numerics`, which the in door reads the file with; they are imported from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envsnap.formats.numerics import FORMAT_VERSION, Framework, Numerics, ProbeResult
from envsnap.model import ModelError

__all__ = [
    "FORMAT_VERSION",
    "Framework",
    "Numerics",
    "ProbeResult",
    "flatten",
    "from_battery",
]


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
