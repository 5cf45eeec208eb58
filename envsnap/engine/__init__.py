"""Image builds behind one interface: an engine yields `BuildEvent`s, `progress` renders them.

`get_engine("docker")` is the Docker Engine API adapter (classic builder); another backend
(buildx, podman) is one more module with the same methods, `build`, `push`, `run`, `has_image`
and `close`, and its line in `ENGINES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from .events import BuildEvent, Cached, Done, Output, Step, StepFailed, parse_stream
from .push import LayerStatus, Pushed, PushEvent, PushFailed, parse_push_stream

__all__ = [
    "ENGINES",
    "BuildEvent",
    "Cached",
    "Done",
    "Engine",
    "LayerStatus",
    "Output",
    "PushEvent",
    "PushFailed",
    "Pushed",
    "Step",
    "StepFailed",
    "get_engine",
    "parse_push_stream",
    "parse_stream",
]

# engine name -> "module:class"; modules are imported only when the engine is asked for.
ENGINES = {"docker": "envsnap.engine.docker:DockerEngine"}


class Engine(Protocol):
    """What `envsnap rebuild` and the tests need from an image engine."""

    def ready(self) -> None:
        """Raise `EnvsnapError` when no build can run here (no daemon): asked before a
        render that may fetch gigabytes for it."""
        ...

    def build(
        self,
        context_dir: Path,
        *,
        tag: str | None,
        verbose: bool = False,
        no_cache: bool = False,
        network: bool = True,
    ) -> Iterator[BuildEvent]:
        """Build the context's Dockerfile (every step again with *no_cache*; with no network
        at all unless *network*); yield events ending with `Done`."""
        ...

    def push(self, image: str, repository: str, tag: str) -> Iterator[PushEvent]:
        """Tag *image* as *repository*:*tag*, push it; yield events ending with `Pushed`."""
        ...

    def run(self, image: str, cmd: Sequence[str], **options: Any) -> tuple[int, str]:
        """Run *cmd* in a throwaway container; return (exit code, output)."""
        ...

    def has_image(self, ref: str) -> bool:
        """True when the daemon holds image *ref* (a tag or an ID)."""
        ...

    def close(self) -> None:
        """Release the engine's connection, if one was opened."""
        ...


def get_engine(name: str = "docker") -> Engine:
    """A new engine by name; `KeyError` lists the known ones."""
    try:
        module_name, _, class_name = ENGINES[name].partition(":")
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise KeyError(f"unknown build engine {name!r}; known: {known}") from None
    engine: Engine = getattr(importlib.import_module(module_name), class_name)()
    return engine
