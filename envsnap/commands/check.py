"""`envsnap check` (being written)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import EnvsnapError


def register(sub: Any) -> None:
    """Add the `check` sub-command to *sub*."""
    p = sub.add_parser("check", help="(not yet available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Placeholder until the verb lands."""
    raise EnvsnapError("'check' is not available in this build")
