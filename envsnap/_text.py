"""Small text helpers: PEP 503 package names, short lists for one-line messages.

What is safe to show on a terminal is the words door's to say (`envsnap._redact.text`).
"""

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


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 package"``, ``"2 packages"`` (*nouns* for irregular plurals)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def seconds(value: str | float | None, option: str) -> float | None:
    """*value* (the text of *option*, like ``--numerics-timeout``, or a number) as positive
    seconds, None when not given; `InputError` naming the option otherwise."""
    if value is None:
        return None
    from envsnap.errors import InputError

    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1e6:
        raise InputError(f"{option}: expected a positive number of seconds, got {value!r}")
    return number
