"""Metrics files compared value by value: JSON (and JSON Lines), YAML and CSV/TSV.

Numbers are compared as numbers (``1.0`` and ``1`` agree; two NaNs agree), everything else as
text; keys are flattened to dotted paths (``eval.loss``, ``row 3.acc``). A file that does not
parse raises `Unreadable` and is compared as bytes. JSON and YAML are parsed by the in door's
bounded parsers (`envsnap.formats.capture.json_value`, `yaml_value`: nesting bounded, YAML
aliases refused, PyYAML only when installed).
"""

from __future__ import annotations

import math

from envsnap._io import read_bytes_bounded
from envsnap.errors import InputError

from .tensors import Unreadable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = ["KINDS", "differences", "load"]

KINDS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".csv": "csv",
    ".tsv": "tsv",
}
MAX_BYTES = 64 << 20
MAX_VALUES = 1 << 20
MAX_DEPTH = 64


def load(path: Path, kind: str) -> dict[str, Any]:
    """The values of the metrics file at *path*, flattened: ``{"eval.loss": 0.31, ...}``."""
    try:
        text = read_bytes_bounded(path, what=f"{kind} file", limit=MAX_BYTES).decode("utf-8")
    except (InputError, UnicodeDecodeError) as exc:
        raise Unreadable(str(exc) if isinstance(exc, InputError) else "not UTF-8") from None
    try:
        data = _parse(text, kind)
    except InputError as exc:  # the door's one line: "SOURCE: what is wrong"
        raise Unreadable(exc.message.partition(": ")[2] or exc.message) from None
    except Exception as exc:  # csv's own errors: all mean "not this format"
        raise Unreadable(f"not {kind.upper()} ({type(exc).__name__})") from None
    out: dict[str, Any] = {}
    _flatten(data, "", out, 0)
    return out


def _parse(text: str, kind: str) -> Any:
    from envsnap.formats.capture import json_value, yaml_value

    if kind == "json":
        return json_value(text, kind)
    if kind == "jsonl":
        return {f"line {i + 1}": json_value(line, kind) for i, line in enumerate(text.splitlines())}
    if kind == "yaml":
        return yaml_value(text, kind)
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text), delimiter="\t" if kind == "tsv" else ","))
    if not rows:
        return {}
    header = rows[0]
    return {
        f"row {i}": {
            (header[j] if j < len(header) else str(j)): _cell(cell) for j, cell in enumerate(row)
        }
        for i, row in enumerate(rows[1:], start=1)
    }


def _cell(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _flatten(data: Any, prefix: str, out: dict[str, Any], depth: int) -> None:
    if len(out) > MAX_VALUES:
        raise Unreadable(f"more than {MAX_VALUES} values")
    if depth > MAX_DEPTH:
        raise Unreadable("nested too deeply")
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out, depth + 1)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _flatten(value, f"{prefix}.{i}" if prefix else str(i), out, depth + 1)
    else:
        out[prefix] = data


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # a JSON integer beyond float
        return math.inf if value > 0 else -math.inf


def same(a: Any, b: Any) -> bool:
    """True when two values agree: numbers as numbers (NaN agrees with NaN), others by equality."""
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb or (math.isnan(na) and math.isnan(nb))
    return bool(type(a) is type(b) and a == b)


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any, float | None]]:
    """``(key, value in a, value in b, absolute difference or None)`` for each key whose values
    disagree, in *a*'s order, then the keys only *b* has (a missing value is `MISSING`)."""
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        va, vb = a.get(key, MISSING), b.get(key, MISSING)
        if va is not MISSING and vb is not MISSING and same(va, vb):
            continue
        na, nb = _number(va), _number(vb)
        diff = abs(na - nb) if na is not None and nb is not None else None
        out.append((key, va, vb, diff if diff is None or math.isfinite(diff) else None))
    return out


class _Missing:
    def __repr__(self) -> str:
        return "missing"


MISSING: Any = _Missing()
