"""Short lists for one-line messages."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


MOST = 8


def some(items: Sequence[str], most: int = MOST) -> str:
    """Join *items* with commas, the first *most* only: "a, b, c and 5 more"."""
    shown = ", ".join(items[:most])
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown
