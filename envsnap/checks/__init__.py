"""`envsnap check` and `envsnap diff`: compare a capture with this machine, or two captures.

`check_snapshot` reads the capture in a directory, captures the current machine without index
look-ups, runs the pure rules in `envsnap.checks.rules` (and with numerics, the battery): the one
check that `check` and a fleet node's report both run. `require` raises `CheckFailed` instead of
returning a failing report; `diff` compares two capture directories.
"""

from __future__ import annotations

import os
from pathlib import Path

from envsnap._defaults import DEFAULT_DIR
from envsnap._record import Record, record
from envsnap.errors import CheckFailed
from envsnap.model import Snapshot, replace

from ..findings import CheckReport, Finding, NumericsSummary
from .runner import run

__all__ = [
    "CheckReport",
    "Checked",
    "Finding",
    "check",
    "check_snapshot",
    "diff",
    "load",
    "require",
    "with_numerics",
]


def load(directory: str | os.PathLike[str]) -> Snapshot:
    """Read the capture in *directory* through the in door: pylock.toml (required),
    hardware.toml, conda-lock.yml.

    Package file lists (index URLs and hashes of every wheel) are left out: no rule reads them,
    and the parsed lock is cached by content so that a repeated check starts fast.
    """
    # The reader and the probes load only when a capture is read: the rules and their runner
    # import alone (the Python API's diff needs no probe, the rule tests need no file format).
    from envsnap.formats.capture import load as load_capture
    from envsnap.formats.capture import read

    found = load_capture(directory, parts=("hardware",), slim=True)
    env = found.lock
    conda = Path(directory) / "conda-lock.yml"
    if env.conda is None and os.path.lexists(conda):  # a link is refused, not skipped
        env = replace(env, conda=read(conda, "conda-lock.yml"))
    return Snapshot(environment=env, hardware=found.hardware)


@record
class Checked(Record):
    """One check: the capture as recorded, this machine as captured now, and the report."""

    recorded: Snapshot
    current: Snapshot
    report: CheckReport


def check_snapshot(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    python: str | None = None,
    numerics: bool = False,
    numerics_timeout: float | None = None,
) -> Checked:
    """Compare this machine and the environment of *python* (default: this interpreter) with the
    capture in *directory*; never raises for findings.

    With *numerics*, also re-run the recorded numerics battery in *python* and compare bits:
    its findings join the report, and its summary (with this machine's numerics digest) is
    `CheckReport.numerics`.
    """
    from envsnap.probes import capture

    recorded = load(directory)
    current = capture(python, lock=False)
    report = run(recorded, current)
    if os.path.lexists(Path(directory) / "repro.toml"):  # a link is refused (a warning)
        from .repro import findings as repro_findings

        report = CheckReport(
            tuple(sorted({*report.findings, *repro_findings(directory)}, key=Finding.sort_key))
        )
    if numerics:
        from envsnap import numerics as _numerics

        timeout = numerics_timeout or _numerics.TIMEOUT_S
        extra, summary = _numerics.check(directory, python=python, timeout=timeout)
        report = with_numerics(report, extra, summary)
    return Checked(recorded=recorded, current=current, report=report)


def check(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    python: str | None = None,
    numerics: bool = False,
    numerics_timeout: float | None = None,
) -> CheckReport:
    """The report of `check_snapshot` (never raises for findings)."""
    return check_snapshot(
        directory, python=python, numerics=numerics, numerics_timeout=numerics_timeout
    ).report


def with_numerics(
    report: CheckReport, extra: list[Finding], summary: NumericsSummary | None
) -> CheckReport:
    """*report* with the numerics findings *extra* sorted in and *summary* attached."""
    found = sorted(set(report.findings) | set(extra), key=Finding.sort_key)
    return CheckReport(tuple(found), numerics=summary)


def require(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    strict: bool = False,
    python: str | None = None,
) -> CheckReport:
    """Like `check`, but raise `CheckFailed` listing the errors (and warnings when *strict*)."""
    report = check(directory, python=python)
    failing = report.errors + (report.warnings if strict else ())
    if failing:
        lines = [
            f"  {f.severity} {f.code}: {f.message}" + (f" (fix: {f.remedy})" if f.remedy else "")
            for f in failing
        ]
        raise CheckFailed(
            f"{directory}: this machine does not match the capture "
            f"({len(failing)} problem(s)):\n" + "\n".join(lines),
            hint="; ".join(sorted({f.remedy for f in failing if f.remedy})) or None,
        )
    return report


def diff(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> CheckReport:
    """Compare capture *a* (recorded) with capture *b* (current) using the same rules; their
    numerics.toml too when either has one (nothing is run)."""
    report = run(load(a), load(b))
    if any(os.path.lexists(Path(d) / "numerics.toml") for d in (a, b)):
        from envsnap import numerics as _numerics

        extra, summary = _numerics.diff(a, b)
        report = with_numerics(report, extra, summary)
    return report
