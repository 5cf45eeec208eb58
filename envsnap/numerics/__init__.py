"""Numerics fingerprint: does this machine compute the same floats, why not, and what fixes it.

`capture` runs the battery (`_battery.py`) in the target interpreter; `check` re-runs it and
compares with a capture's numerics.toml, names the likely cause of each difference from the
dispatch facts, and re-runs the differing probes under candidate settings to prove a fix;
`diff` compares the numerics of two captures without running anything. Nothing here is
imported by a plain `envsnap check`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from envsnap.errors import InputError
from envsnap.findings import Finding, NumericsSummary
from envsnap.formats import numerics as numerics_toml

from .compare import compare
from .findings import findings, summarize
from .model import Numerics
from .runner import TIMEOUT_S, battery_version, run_battery

__all__ = ["TIMEOUT_S", "Numerics", "capture", "check", "diff", "load"]


def capture(python: str | None = None, *, timeout: float = TIMEOUT_S) -> Numerics:
    """Run the battery in *python* (default: this interpreter); never raises for a time-out."""
    return run_battery(python, timeout=timeout)


def load(directory: str | os.PathLike[str]) -> Numerics:
    """The numerics.toml of the capture in *directory* (read through the in door);
    `InputError` when there is none."""
    path = Path(directory) / numerics_toml.FILENAME
    if not os.path.lexists(path):
        raise InputError(
            f"{path}: not found", hint="record one with `envsnap capture --numerics -o DIR`"
        )
    return numerics_toml.load(path)


def _preconditions(recorded: Numerics, where: str, ours: str | None = None) -> Finding | None:
    if not recorded.complete:
        return Finding(
            "warning",
            "numerics",
            "numerics.incomplete",
            f"{where}: the recorded battery did not finish ({recorded.reason}); nothing to compare",
            remedy="re-capture with a longer --numerics-timeout",
        )
    ours = battery_version() if ours is None else ours
    if recorded.battery_version != ours:
        return Finding(
            "warning",
            "numerics",
            "numerics.battery-version",
            f"{where}: recorded with battery version {recorded.battery_version}, this envsnap "
            f"runs version {ours}: the probes are not the same",
            expected=recorded.battery_version,
            actual=ours,
            remedy="re-capture with this envsnap, or check with the envsnap that recorded it",
        )
    return None


def check(
    directory: str | os.PathLike[str],
    *,
    python: str | None = None,
    timeout: float = TIMEOUT_S,
    verify: bool = True,
) -> tuple[list[Finding], NumericsSummary | None]:
    """Re-run the recorded battery here and compare; prove remedies unless *verify* is False."""
    from .remedies import verify as verify_remedies

    recorded = load(directory)
    where = str(Path(directory) / numerics_toml.FILENAME)
    blocked = _preconditions(recorded, where)
    if blocked is not None:
        return [blocked], None
    current = run_battery(python, timeout=timeout)
    if not current.complete:
        return [
            Finding(
                "warning",
                "numerics",
                "numerics.incomplete",
                f"the battery did not finish here ({current.reason})",
                remedy="check again with a longer --numerics-timeout",
            )
        ], None
    comps = compare(recorded, current)
    verdicts = None
    if verify:
        run = functools.partial(run_battery, python, timeout=timeout)
        verdicts = verify_remedies(comps, recorded, current, run)
    summary = summarize(
        comps,
        recorded_digest=numerics_toml.digest(recorded),
        current_digest=numerics_toml.digest(current),
    )
    from envsnap.model import replace

    return findings(comps, verdicts), replace(summary, seconds=current.seconds)


def diff(
    a: str | os.PathLike[str], b: str | os.PathLike[str]
) -> tuple[list[Finding], NumericsSummary | None]:
    """Compare the numerics of captures *a* and *b*; nothing is run. Both, or neither (no
    findings), should hold numerics.toml; one alone gives an info finding."""
    has_a = os.path.lexists(Path(a) / numerics_toml.FILENAME)  # a link is there, and refused
    has_b = os.path.lexists(Path(b) / numerics_toml.FILENAME)
    if not has_a and not has_b:
        return [], None
    if has_a != has_b:
        only, other = (a, b) if has_a else (b, a)
        return [
            Finding(
                "info",
                "numerics",
                "numerics.one-side",
                f"{only} has {numerics_toml.FILENAME}, {other} has none: numerics not compared",
                remedy=f"capture {other} with --numerics",
            )
        ], None
    recorded, current = load(a), load(b)
    for side, where in ((recorded, a), (current, b)):
        ours = recorded.battery_version if side is current else None
        blocked = _preconditions(side, str(Path(where) / numerics_toml.FILENAME), ours)
        if blocked is not None:
            return [blocked], None
    comps = compare(recorded, current)
    summary = summarize(
        comps,
        recorded_digest=numerics_toml.digest(recorded),
        current_digest=numerics_toml.digest(current),
    )
    return findings(comps, None), summary
