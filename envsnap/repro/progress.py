"""Progress of the runs on stderr: a live line on a terminal, one plain line per run otherwise.

As `envsnap.engine.progress` shows a build, one line per step: here a step is a run. On a
terminal the current run's line counts its seconds in place (rewritten with ``\\r``); in a log
each run prints one line when it ends. Quiet prints nothing.
"""

from __future__ import annotations

import sys

from envsnap import _redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Report runs as they start, tick and end."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self._what = ""
        self._shown = 0

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def start(self, what: str) -> None:
        """A run begins."""
        self._what = _redact.text(what)
        if self.live:
            self._line(f"envsnap: {self._what} ...")

    def tick(self, seconds: float) -> None:
        """The current run has taken *seconds* so far."""
        if self.live:
            self._line(f"envsnap: {self._what} ... {seconds:.0f} s")

    def done(self, what: str, seconds: float, failure: str = "") -> None:
        """A run ended (*failure*: why it failed, "" when it succeeded)."""
        if self.quiet:
            return
        end = f"failed: {_redact.text(failure)}" if failure else "done"
        text = f"envsnap: {_redact.text(what)}: {end} in {seconds:.1f} s"
        if self.live:
            self._line(text)
            self._write("\n")
            self._shown = 0
        else:
            self._write(text + "\n")

    def note(self, text: str) -> None:
        """A line about the work (not a run)."""
        if self.quiet:
            return
        if self.live and self._shown:
            self._write("\n")
            self._shown = 0
        self._write(f"envsnap: {_redact.text(text)}\n")

    def _line(self, text: str) -> None:
        pad = max(0, self._shown - len(text))
        self._write("\r" + text + " " * pad)
        self._shown = len(text)
