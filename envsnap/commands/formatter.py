"""The help formatter of every envsnap parser: argparse's, without its `shutil` import."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["Formatter"]


def _columns() -> int:
    """Terminal width as `shutil.get_terminal_size` finds it: $COLUMNS, stdout, else 80."""
    try:
        return max(int(os.environ["COLUMNS"]), 1)
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 80
    except (AttributeError, ValueError, OSError):
        return 80


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written; the width found without importing `shutil`.

    argparse builds a formatter for every `add_argument`, and its default one imports `shutil`
    (with `bz2`, `lzma` and `zlib`) to ask the terminal's width, on each `envsnap check`.
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )
