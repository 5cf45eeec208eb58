"""Render build events for a terminal: one line per step, a step's output only with -v."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from .events import BuildEvent, Cached, Done, Output, Step

__all__ = ["format_event", "show"]

MAX_STEP_TEXT = 100


def _short(text: str, width: int = MAX_STEP_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def format_event(event: BuildEvent, *, verbose: bool = False) -> str | None:
    """The line to print for *event*, or None when it shows nothing at this verbosity."""
    if isinstance(event, Step):
        return f"[{event.number}/{event.total}] {_short(event.text)}"
    if isinstance(event, Cached):
        return "      (cached)"
    if isinstance(event, Output):
        return f"      {event.line}" if verbose else None
    tag = f" tagged {event.tag}" if event.tag else ""
    base = event.base_digest or event.base_image
    return f"built image {_short_id(event.image_id)}{tag} (base {base})"


def show(events: Iterable[BuildEvent], out: TextIO, *, verbose: bool = False) -> Done | None:
    """Print *events* to *out* as they come; return the final `Done` (None if there was none)."""
    done: Done | None = None
    for event in events:
        line = format_event(event, verbose=verbose)
        if line is not None:
            print(line, file=out, flush=True)
        if isinstance(event, Done):
            done = event
    return done
