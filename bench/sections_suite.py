"""Bench section 11 (``--suite``, many minutes): the test suite's wall time, whole and fast tier.

Each runs once, as a developer runs it: the whole suite (``python -m pytest``, what `make test`
runs) under the Docker lock every docker test run must hold on a shared daemon, and the fast
tier (`make test-fast` where the Makefile has it, else ``pytest -m "not slow and not docker and
not cluster"``). Targets: 10 minutes and 2 minutes on an idle 2-core machine; the load average
is noted beside each figure, since a busy machine stretches both.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from core import ROOT, Bench, Cmd, run_once
from measure import Sample
from report import fmt_ms

__all__ = ["section_suite"]

SEC = "11 test suite"
FULL_S = 600.0
FAST_S = 120.0
FAST_MARKERS = "not slow and not docker and not cluster"
DOCKER_LOCK = Path("/tmp/envsnap-docker.lock")  # noqa: S108 (the lock every engineer shares)


@contextlib.contextmanager
def _docker_lock() -> Iterator[None]:
    import fcntl

    with DOCKER_LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _fast_command(python: str) -> tuple[list[str], str]:
    """`make test-fast` when the Makefile defines it, else the marker selection."""
    dry = subprocess.run(
        ["make", "-n", "test-fast"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if dry.returncode == 0:
        return ["make", "test-fast"], "make test-fast"
    return [python, "-m", "pytest", "-q", "-m", FAST_MARKERS], f'pytest -m "{FAST_MARKERS}"'


def _summary(sample: Sample) -> str:
    """pytest's last line ("1150 passed, 3 skipped in 540.2s"), or the exit status."""
    lines = [ln.strip("= ") for ln in sample.stdout.splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit status {sample.returncode}"


def section_suite(bench: Bench) -> None:
    """Time the whole suite and the fast tier once each (target 5)."""
    python = str(ROOT / ".venv" / "bin" / "python")
    fast_argv, fast_how = _fast_command(python)
    runs = (
        ("fast tier", fast_argv, fast_how, FAST_S, contextlib.nullcontext()),
        ("full suite", [python, "-m", "pytest", "-q"], "python -m pytest", FULL_S, _docker_lock()),
    )
    for name, argv, how, limit, lock in runs:
        load = os.getloadavg()[0]
        with lock:
            sample = run_once(Cmd(argv, ok=(0, 1)))
        ok = sample.returncode == 0 and sample.wall_s <= limit
        note = f"load {load:.1f} at start; {_summary(sample)}"
        bench.report.add(
            SEC,
            f"{name}: {how}",
            fmt_ms(sample.wall_s),
            cpu=fmt_ms(sample.cpu_s),
            target=f"<= {limit / 60:g} min",
            result=f"{'PASS' if ok else 'FAIL'} ({note})",
        )
        bench.report.put("suite", f"{name.split()[0]}_s", round(sample.wall_s, 1))
        bench.report.target(
            "5", f"test suite, {name}", fmt_ms(sample.wall_s), f"<= {limit / 60:g} min", ok, note
        )
