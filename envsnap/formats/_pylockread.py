"""The fast path of `pylock.parse`: envsnap's own layout read without tomllib, checked without
importing `packaging.pylock`.

A large lock (every file of every version) is slow to read through tomllib, to import
`packaging.pylock` for (markers, specifiers, tags) and to check with its ``from_dict``; bench/
measures each. The ``[[packages]]`` tables that `_pylockfast` writes have a fixed shape: one key
per line, strings without escapes, inline tables, arrays one item a line. `loads` reads exactly
that shape, and the tomli_w layout of ``[tool.envsnap]`` (table headers, arrays one item a
line); anything else, a comment, an escape, a duplicate key, a table defined twice, raises
`Unsure` inside and the caller reads the whole text with tomllib. `surely_valid` is a
conservative PEP 751 check: True only where `Pylock.from_dict` surely accepts the document;
otherwise the caller asks `packaging.pylock` itself. Neither accepts anything the standard path
refuses (the tests compare them on real and randomly damaged locks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .._names import NORMAL_VERSION, NORMALIZED_NAME, sdist_matches, wheel_matches
from .._regex import lazy
from . import pep751

__all__ = ["Unsure", "loads", "surely_valid"]

_KEY = lazy(r"([A-Za-z0-9_-]+) = ")
# [0-9], not \d: that also matches other scripts' digits, which TOML does not take.
_DATETIME = lazy(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z"
)
# Strings: TOML basic strings with nothing to unescape (no quote, backslash or control).
_SCALAR = lazy(
    rf'"(?P<s>[^"\\\x00-\x1f\x7f]*)"|(?P<dt>{_DATETIME.pattern})|(?P<int>0|[1-9][0-9]*)'
    r"|(?P<bool>true|false)"
)
# The one line in a thousand: a file of an index package, nothing to escape.
_ARTIFACT = lazy(
    r'    \{ name = "([^"\\\x00-\x1f\x7f]*)"'
    rf"(?:, upload-time = ({_DATETIME.pattern}))?"
    r', url = "([^"\\\x00-\x1f\x7f]*)"'
    r"(?:, size = (0|[1-9][0-9]*))?"
    r', hashes = \{ sha256 = "([^"\\\x00-\x1f\x7f]*)" \} \},'
)
_COMMENT = lazy(r"#[^\x00-\x08\x0a-\x1f\x7f]*")
_HEADER = lazy(r"(\[\[?)([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)(\]\]?)")


class Unsure(Exception):
    """The text is not in the layout `loads` knows: read it with tomllib."""


# --- reading ------------------------------------------------------------------------------------


def loads(text: str) -> dict[str, Any]:
    """*text* as tomllib would read it, for envsnap's own layout; `Unsure` for anything else."""
    lines = text.split("\n")
    doc: dict[str, Any] = {}
    tables = _Tables(doc)
    i = _table(lines, 0, doc, top=True)
    while i < len(lines):
        header = _HEADER.fullmatch(lines[i])
        if header is None or len(header.group(1)) != len(header.group(3)):
            raise Unsure
        table = tables.open(header.group(2).split("."), array=header.group(1) == "[[")
        i = _table(lines, i + 1, table, top=False)
    return doc


class _Tables:
    """Where each ``[a.b]`` or ``[[a.b]]`` header puts its keys, under TOML's rules or stricter.

    A header may only go through tables that headers made (named or on the way) and arrays that
    ``[[...]]`` headers made (into their last table); ``[a.b]`` may only name a table that does
    not exist yet. TOML allows a little more (``[a]`` after ``[a.b]``): that goes to tomllib.
    """

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.made: set[int] = set()  # ids of the tables and arrays of tables that headers made

    def open(self, path: list[str], *, array: bool) -> dict[str, Any]:
        node = self.root
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
                self.made.add(id(child))
            elif id(child) not in self.made:
                raise Unsure  # a key's value (inline table, array): not to be extended
            node = child[-1] if isinstance(child, list) else child
        last = path[-1]
        table: dict[str, Any] = {}
        if not array:
            if last in node:
                raise Unsure
            node[last] = table
        else:
            tables = node.get(last)
            if tables is None:
                tables = node[last] = []
                self.made.add(id(tables))
            elif not isinstance(tables, list) or id(tables) not in self.made:
                raise Unsure  # a table, or a key's array: not an array of tables
            tables.append(table)
        self.made.add(id(table))
        return table


def _table(lines: list[str], i: int, table: dict[str, Any], *, top: bool) -> int:
    """Read ``key = value`` lines into *table* up to the next header; return that line's index."""
    while i < len(lines):
        line = lines[i]
        if line.startswith("["):
            return i
        if not line or (top and _COMMENT.fullmatch(line)):
            i += 1
            continue
        match = _KEY.match(line)
        if match is None:
            raise Unsure
        key = match.group(1)
        if key in table:
            raise Unsure
        if line.endswith(" = [") and match.end() == len(line) - 1:
            table[key], i = _long_array(lines, i + 1)
            continue
        table[key], end = _value(line, match.end())
        if end != len(line):
            raise Unsure
        i += 1
    return i


def _long_array(lines: list[str], i: int) -> tuple[list[Any], int]:
    """An array written one ``    item,`` a line up to a ``]`` line; return it and the next line."""
    items: list[Any] = []
    while i < len(lines):
        line = lines[i]
        if line == "]":
            return items, i + 1
        fast = _ARTIFACT.fullmatch(line)
        if fast is not None:
            items.append(_artifact(fast))
            i += 1
            continue
        if not line.startswith("    ") or not line.endswith(","):
            raise Unsure
        item, end = _value(line, 4)
        if end != len(line) - 1:
            raise Unsure
        items.append(item)
        i += 1
    raise Unsure


def _value(line: str, pos: int) -> tuple[Any, int]:
    """The TOML value at *pos* of *line* and the position after it."""
    first = line[pos : pos + 1]
    if first == "{":
        return _inline_table(line, pos)
    if first == "[":
        return _inline_array(line, pos)
    match = _SCALAR.match(line, pos)
    if match is None:
        raise Unsure
    text, stamp, number, flag = match.group("s", "dt", "int", "bool")
    if text is not None:
        value: Any = text
    elif stamp is not None:
        value = _datetime(match.groups()[2:9])
    elif number is not None:
        value = int(number)
    else:
        value = flag == "true"
    return value, match.end()


def _artifact(match: re.Match[str]) -> dict[str, Any]:
    groups = match.groups()
    out: dict[str, Any] = {"name": groups[0]}
    if groups[1] is not None:
        out["upload-time"] = _datetime(groups[2:9])
    out["url"] = groups[9]
    if groups[10] is not None:
        out["size"] = int(groups[10])
    out["hashes"] = {"sha256": groups[11]}
    return out


def _datetime(parts: Sequence[str | None]) -> datetime:
    """A `_DATETIME` match's groups as tomllib reads them (fraction padded, UTC)."""
    y, mo, d, h, mi, s, frac = parts
    assert y and mo and d and h and mi and s  # all but the fraction are in every match
    micros = int(frac.ljust(6, "0")) if frac else 0
    try:
        return datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s), micros, tzinfo=timezone.utc
        )
    except ValueError:  # 30 February: tomllib refuses it too, with its own message
        raise Unsure from None


def _inline_table(line: str, pos: int) -> tuple[dict[str, Any], int]:
    if line.startswith("{}", pos):
        return {}, pos + 2
    if not line.startswith("{ ", pos):
        raise Unsure
    table: dict[str, Any] = {}
    pos += 2
    while True:
        match = _KEY.match(line, pos)
        if match is None or match.group(1) in table:
            raise Unsure
        table[match.group(1)], pos = _value(line, match.end())
        if line.startswith(" }", pos):
            return table, pos + 2
        if not line.startswith(", ", pos):
            raise Unsure
        pos += 2


def _inline_array(line: str, pos: int) -> tuple[list[Any], int]:
    if line.startswith("[]", pos):
        return [], pos + 2
    items = []
    pos += 1
    while True:
        item, pos = _value(line, pos)
        items.append(item)
        if line.startswith("]", pos):
            return items, pos + 1
        if not line.startswith(", ", pos):
            raise Unsure
        pos += 2


# --- checking -----------------------------------------------------------------------------------

_NOT_FAST = ("environments", "extras", "dependency-groups", "default-groups", "requires-python")
_PKG_NOT_FAST = ("requires-python", "marker", "dependencies", "attestation-identities")


def surely_valid(data: Mapping[str, Any]) -> bool:
    """True when `packaging.pylock.Pylock.from_dict` surely accepts *data*, without a warning.

    False means "not sure": ask `packaging.pylock`. Only lock-version 1.0 and the keys envsnap
    writes are judged here; a package's version must be in PEP 440 normal form.
    """
    packages = data.get("packages")
    return (
        data.get("lock-version") == "1.0"
        and isinstance(data.get("created-by"), str)
        and _opt(data, "tool", dict)
        and not any(k in data for k in _NOT_FAST)
        and isinstance(packages, list)
        and all(isinstance(p, dict) and _package_ok(p) for p in packages)
    )


def _opt(d: Mapping[str, Any], key: str, kind: type) -> bool:
    """*d* lacks *key* or holds a *kind* there (an int is never a bool, as PEP 751 wants)."""
    value = d.get(key)
    if value is None:
        return True
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _strings(d: Mapping[str, Any], *keys: str) -> bool:
    return all(_opt(d, k, str) for k in keys)


def _package_ok(p: Mapping[str, Any]) -> bool:
    name, version = p.get("name"), p.get("version")
    if not (
        isinstance(name, str)
        and NORMALIZED_NAME.fullmatch(name) is not None
        and (version is None or (isinstance(version, str) and NORMAL_VERSION.fullmatch(version)))
        and not any(k in p for k in _PKG_NOT_FAST)
        and _strings(p, "index")
        and _opt(p, "tool", dict)
    ):
        return False
    direct = [k for k in ("vcs", "directory", "archive") if k in p]
    wheels, sdist = p.get("wheels"), p.get("sdist")
    files = (1 if sdist is not None else 0) + (len(wheels) if isinstance(wheels, list) else 0)
    if (files and direct) or (not files and len(direct) != 1):
        return False
    if direct:
        return _direct_ok(direct[0], p[direct[0]])
    return isinstance(version, str) and _files_ok(name, version, wheels, sdist)


def _files_ok(name: str, version: str, wheels: Any, sdist: Any) -> bool:
    """The wheels and sdist of an index package: well formed, named after *name* *version*."""
    versions = (version, version)
    if wheels is not None and not (
        isinstance(wheels, list)
        and all(_file_ok(w) and wheel_matches(w["name"], name, versions) for w in wheels)
    ):
        return False
    return sdist is None or (_file_ok(sdist) and sdist_matches(sdist["name"], name, versions))


def _direct_ok(kind: str, d: Any) -> bool:
    if not isinstance(d, dict):
        return False
    if kind == "vcs":
        return pep751.table_ok(d, pep751.VCS) and bool(d.get("url") or d.get("path"))
    if kind == "directory":
        return pep751.table_ok(d, pep751.DIRECTORY)
    return _file_ok(d, named=False)


_FILE_KEYS: dict[str, type] = {
    "name": str,
    "url": str,
    "path": str,
    "size": int,  # the exact type: a bool is refused, as PEP 751 wants
    "upload-time": datetime,
    "hashes": dict,
    "subdirectory": str,
}


def _file_ok(d: Any, *, named: bool = True) -> bool:
    """An archive, sdist or wheel table: typed keys, hashes, a location (and a name).

    Types are compared exactly (``type(v) is str``): stricter than `packaging.pylock`'s
    isinstance, never looser. Keys it does not know it ignores, and so does this.
    """
    if type(d) is not dict:
        return False
    for key, value in d.items():
        kind = _FILE_KEYS.get(key)
        if kind is not None and type(value) is not kind:
            return False
    hashes = d.get("hashes")
    return (
        hashes is not None
        and bool(hashes)
        and all(type(h) is str for h in hashes.values())
        and bool(d.get("url") or d.get("path"))
        and (not named or bool(d.get("name")))
    )
