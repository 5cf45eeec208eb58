"""Two environments, one job: the numerics dispatch facts of each side and which differ.

The facts come from the numerics battery run with no probe (it imports numpy and torch and
reports BLAS, threads, CPU capability, TF32, GPUs, the determinism variables it ran under): on
this machine and in a venv as a subprocess, in an image through the engine. The differences
that can change a job's results are its likely causes; `remedies.fact_candidates` turns them
into settings that --explain verifies by re-running the other side.
"""

from __future__ import annotations

from pathlib import Path

from envsnap.errors import EnvsnapError
from envsnap.numerics import attribution, runner
from envsnap.numerics.model import Numerics

from .places import Host, Image
from .result import Side

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .command import Job

__all__ = ["describe", "facts"]

_ONLY = ("numpy.-", "torch.-")  # no probe runs: the frameworks import, their facts are read
TIMEOUT_S = 300.0


def facts(place: Host, job: Job, workdir: Path) -> tuple[Numerics | None, str]:
    """The dispatch facts of *place* for *job*'s interpreter, or (None, why not)."""
    python = place.python(job, workdir)
    if not python:
        return None, "not a Python command: the interpreter's facts are unknown"
    if isinstance(place, Image):
        return _in_image(place, python)
    env: dict[str, str | None] = {}
    full = place.environ()
    for key in ("PATH", "VIRTUAL_ENV"):
        env[key] = full.get(key)
    try:
        return runner.run_battery(python, timeout=TIMEOUT_S, only=_ONLY, env=env), ""
    except EnvsnapError as exc:
        return None, exc.message


def _in_image(place: Image, python: str) -> tuple[Numerics | None, str]:
    from envsnap.engine import get_engine

    engine = get_engine("docker")
    try:
        code, output = engine.run(
            place.tag,
            runner.battery_command(python, only=_ONLY),
            environment=place.environ(),
            timeout=TIMEOUT_S,
        )
    except (TimeoutError, EnvsnapError) as exc:
        return None, str(exc)
    finally:
        engine.close()
    if code != 0:
        return None, f"the numerics battery failed in the image (exit status {code})"
    try:
        return runner.parse_output(python, output), ""
    except EnvsnapError as exc:
        return None, exc.message


def describe(place: Host, python: str, found: Numerics | None) -> Side:
    """The `Side` record of *place*, with the facts that can change a job's results."""
    names = set(attribution.JOB_FACTS)
    shown = tuple(
        (k, v) for k, v in (found.dispatch if found else ()) if k in names or k.startswith("env.")
    )
    return Side(place.label, place.kind, python, shown)


def causes(host: Numerics | None, other: Numerics | None) -> tuple[str, ...]:
    """The facts that differ between the two sides (empty when either is unknown)."""
    if host is None or other is None:
        return ()
    return attribution.job_causes(host, other)
