"""The TOML writer of every file envsnap writes: byte for byte what ``tomli_w.dumps`` writes.

It stands in for tomli_w (a dependency, imported only for a value type it does not know), so that
writing a capture imports no TOML library; `tests/formats/test_toml.py` compares the two on
random documents. `toml_string` is also what the lock writer uses for each string it writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from .._regex import lazy

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NEEDS_ESCAPE", "toml_document", "toml_string"]

# tomli_w's rule: escape quote, backslash and the ASCII controls but tab.
NEEDS_ESCAPE = lazy(r'[\x00-\x08\x0a-\x1f\x7f"\\]')
_COMPACT = {"\b": "\\b", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_BARE_KEY = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _COMPACT.get(char) or f"\\u{ord(char):04x}"


def toml_string(text: str) -> str:
    """*text* as a TOML basic string, escaped exactly as tomli_w escapes it."""
    if NEEDS_ESCAPE.search(text) is None:
        return f'"{text}"'
    return '"' + NEEDS_ESCAPE.sub(_escape_one, text) + '"'


def toml_document(doc: Mapping[str, Any]) -> str:
    """*doc* as TOML, byte for byte what ``tomli_w.dumps(doc)`` writes.

    Only the value types capture writes (str, bool, int, float, arrays, tables); anything else
    is handed to tomli_w itself.
    """
    try:
        return "".join(_table_chunks(doc, ""))
    except TypeError:
        import tomli_w

        return tomli_w.dumps(doc)


def _toml_key(part: str) -> str:
    return part if part and _BARE_KEY.issuperset(part) else toml_string(part)


def _literal(obj: object, nest: int = 0) -> str:
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, (int, float)):
        return str(obj)
    if isinstance(obj, str):
        return toml_string(obj)
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        items = ",\n".join("    " * (nest + 1) + _literal(item, nest + 1) for item in obj)
        return f"[\n{items},\n{'    ' * nest}]"
    if isinstance(obj, Mapping):
        return _inline_table(obj)
    raise TypeError(type(obj).__name__)


def _inline_table(obj: Mapping[str, Any]) -> str:
    if not obj:
        return "{}"
    return "{ " + ", ".join(f"{_toml_key(k)} = {_literal(v)}" for k, v in obj.items()) + " }"


def _inline_ok(obj: Mapping[str, Any]) -> bool:
    rendered = f"    {_inline_table(obj)},"
    return len(rendered) <= 100 and "\n" not in rendered  # tomli_w's MAX_LINE_LENGTH


def _table_chunks(table: Mapping[str, Any], name: str, aot: bool = False) -> Iterator[str]:
    literals: list[tuple[str, Any]] = []
    tables: list[tuple[str, Any, bool]] = []
    for k, v in table.items():
        if isinstance(v, Mapping):
            tables.append((k, v, False))
        elif (
            isinstance(v, (list, tuple))
            and v
            and all(isinstance(t, Mapping) for t in v)
            and not all(_inline_ok(t) for t in v)
        ):
            tables.extend((k, t, True) for t in v)
        else:
            literals.append((k, v))
    yielded = bool(aot or (name and (literals or not tables)))
    if yielded:
        yield f"[[{name}]]\n" if aot else f"[{name}]\n"
    for k, v in literals:
        yielded = True
        yield f"{_toml_key(k)} = {_literal(v)}\n"
    for k, v, in_aot in tables:
        if yielded:
            yield "\n"
        yielded = True
        key = _toml_key(k)
        yield from _table_chunks(v, f"{name}.{key}" if name else key, in_aot)
