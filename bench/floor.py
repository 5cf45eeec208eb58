"""The floor of an image build: what moving the installed bytes alone costs.

A `docker build` of a context holding only the reference venv's installed site-packages tree
(hard links: nothing is copied on disk to make it), whose Dockerfile COPYs it into the same
base as rebuild's image: no cache, no network, the same daemon and storage driver, built
through envsnap's own image engine, as rebuild sends its context. No rebuild can be faster
than this without moving fewer bytes.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import refenv
from steps import StepTime, step_times

__all__ = ["Floor", "build_floor", "floor_context"]


@dataclass(frozen=True)
class Floor:
    """The floor build: wall time, its steps, its error (empty when it built)."""

    wall_s: float
    steps: tuple[StepTime, ...]
    error: str = ""


def _link_tree(src: Path, dest: Path) -> None:
    """Mirror *src* into *dest* with hard links (symbolic links kept as links)."""
    for root, dirs, files in os.walk(src):
        here = Path(root)
        there = dest / here.relative_to(src)
        there.mkdir(parents=True, exist_ok=True)
        for name in [*dirs, *files]:
            path = here / name
            if path.is_symlink():
                (there / name).symlink_to(path.readlink())
            elif path.is_file():
                (there / name).hardlink_to(path)


def floor_context(ref: Path, out: Path, base: str) -> Path:
    """Write the floor's context into *out*: a Dockerfile and the site-packages tree."""
    if out.exists():
        shutil.rmtree(out)
    site = refenv.site_packages(ref)
    inside = f"/opt/venv/lib/{site.parent.name}/site-packages/"
    _link_tree(site, out / "site-packages")
    (out / "Dockerfile").write_text(f"FROM {base}\nCOPY site-packages/ {inside}\n")
    return out


def build_floor(ref: Path, work: Path, base: str, tag: str) -> Floor:
    """Build the floor image *tag* from the reference venv *ref*; time it and its steps."""
    try:
        from envsnap.engine import Step, get_engine
        from envsnap.engine.progress import format_event
        from envsnap.errors import EnvsnapError
    except ImportError as exc:
        return Floor(0.0, (), f"envsnap's image engine cannot be imported ({exc})")
    context = floor_context(ref, work / "floor-context", base)
    lines: list[tuple[float, str]] = []
    error = ""
    started = time.perf_counter()
    engine = get_engine()
    try:
        # The same call rebuild makes: the classic builder, no network, every step again.
        for event in engine.build(context, tag=tag, no_cache=True, network=False):
            line = format_event(event)
            if isinstance(event, Step) or line:
                lines.append((time.perf_counter() - started, line or ""))
    except (EnvsnapError, OSError) as exc:
        error = str(exc)
    finally:
        engine.close()
        shutil.rmtree(context, ignore_errors=True)
    wall = time.perf_counter() - started
    steps = step_times(lines, wall, ["final", "final"])
    return Floor(wall, tuple(steps), error)
