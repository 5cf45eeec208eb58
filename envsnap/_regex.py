"""Regular expressions compiled on first use, not when their module is imported.

A module-level ``re.compile`` runs on every start of every command that imports the module, used
or not: `capture` and `check` run before every job, and compiling the patterns they never use
cost them several milliseconds. `Pattern` stands in for `re.Pattern`: ``lazy(SOURCE)`` at module
level compiles nothing; the first call of a method compiles the pattern (through `re.compile`,
so its cache and errors are re's) and binds re's own bound methods on the instance, so that
later calls go straight to them.
"""

from __future__ import annotations

import re
import sys

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

__all__ = ["Pattern", "lazy"]

_MAX = sys.maxsize  # re's own default endpos


class Pattern:
    """A `re.Pattern[str]` compiled when first used. `pattern` and `flags` are as given."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern; after the first call the methods below are re's own."""
        done = re.compile(self.pattern, self.flags)
        # Instance attributes outrank the methods of the class: from now on each call is
        # one attribute lookup away from re's C implementation.
        vars(self).update(
            compiled=lambda: done,
            match=done.match,
            fullmatch=done.fullmatch,
            search=done.search,
            sub=done.sub,
            subn=done.subn,
            split=done.split,
            findall=done.findall,
            finditer=done.finditer,
        )
        return done

    def match(self, string: str, pos: int = 0, endpos: int = _MAX) -> re.Match[str] | None:
        """As `re.Pattern.match`."""
        return self.compiled().match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = _MAX) -> re.Match[str] | None:
        """As `re.Pattern.fullmatch`."""
        return self.compiled().fullmatch(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = _MAX) -> re.Match[str] | None:
        """As `re.Pattern.search`."""
        return self.compiled().search(string, pos, endpos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        """As `re.Pattern.sub`."""
        return self.compiled().sub(repl, string, count)

    def subn(
        self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0
    ) -> tuple[str, int]:
        """As `re.Pattern.subn`."""
        return self.compiled().subn(repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list[str | Any]:
        """As `re.Pattern.split`."""
        return self.compiled().split(string, maxsplit)

    def findall(self, string: str, pos: int = 0, endpos: int = _MAX) -> list[Any]:
        """As `re.Pattern.findall`."""
        return self.compiled().findall(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = _MAX) -> Iterator[re.Match[str]]:
        """As `re.Pattern.finditer`."""
        return self.compiled().finditer(string, pos, endpos)

    def __repr__(self) -> str:
        return f"lazy({self.pattern!r}, {self.flags!r})"


def lazy(pattern: str, flags: int = 0) -> Pattern:
    """A pattern compiled on first use (`Pattern`); *flags* as for `re.compile`."""
    return Pattern(pattern, flags)
