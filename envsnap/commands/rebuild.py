"""`envsnap rebuild` (being written)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import EnvsnapError


def register(sub: Any) -> None:
    """Add the `rebuild` sub-command to *sub*."""
    p = sub.add_parser("rebuild", help="(not yet available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Placeholder until the verb lands."""
    raise EnvsnapError("'rebuild' is not available in this build")
