"""Small text helpers: PEP 503 package names, short lists for one-line messages."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


MOST = 8


def some(items: Sequence[str], most: int = MOST) -> str:
    """Join *items* with commas, the first *most* only: "a, b, c and 5 more"."""
    shown = ", ".join(items[:most])
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown


def canonical_name(name: str) -> str:
    """*name* normalized as `packaging.utils.canonicalize_name` does (PEP 503), without
    importing packaging.utils (which imports packaging.tags, logging, ...)."""
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return value


# C0 and C1 controls, DEL, and the format characters that reorder or hide text (bidi overrides,
# zero-width joiners, line/paragraph separators): a value printed raw could move the cursor,
# ring the bell, retitle the window or forge a "this machine matches" line.
_UNSAFE = {
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x200B,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x2028,
    0x2029,
    0xFEFF,
}
_ESCAPES = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _UNSAFE}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})


def printable(text: str) -> str:
    """*text* safe for a terminal: control and text-reordering characters as escapes."""
    if text.isprintable():
        return text  # the common case, checked in C
    return text.translate(_ESCAPES)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 package"``, ``"2 packages"`` (*nouns* for irregular plurals)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
