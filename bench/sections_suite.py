"""Bench section 11 (``--suite``, many minutes): the test suite's wall time, whole and fast tier.

Each runs once, as a developer runs it: the fast tier (`make test-fast` where the Makefile has
it, else ``pytest -m "not slow and not docker and not cluster"``) and the whole suite (`make
test`, the README's test command: two pytest-xdist workers; the Docker tests take the shared
docker lock themselves, a module at a time). Targets: 2 minutes and 10 minutes on an idle 2-core
machine; the load average is noted beside each figure, since a busy machine stretches both.
"""

from __future__ import annotations

import os
import subprocess

from core import ROOT, Bench, Cmd, run_once
from measure import Sample
from report import fmt_ms

__all__ = ["section_suite"]

SEC = "11 test suite"
FULL_S = 600.0
FAST_S = 120.0
RUN_LIMIT_S = 5400.0  # a run is stopped (and FAILs) after 90 minutes
FAST_MARKERS = "not slow and not docker and not cluster"


def _command(target: str, fallback: list[str], shown: str) -> tuple[list[str], str]:
    """`make TARGET` when the Makefile defines it, else *fallback* (shown as *shown*)."""
    dry = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if dry.returncode == 0:
        return ["make", target], f"make {target}"
    return fallback, shown


def _summary(sample: Sample) -> str:
    """pytest's last line ("1150 passed, 3 skipped in 540.2s"), or the exit status."""
    lines = [ln.strip("= ") for ln in sample.stdout.splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit status {sample.returncode}"


def _timed(argv: list[str]) -> tuple[Sample, float]:
    """One run of *argv* and the load average before it."""
    load = os.getloadavg()[0]
    return run_once(Cmd(argv), timeout=RUN_LIMIT_S), load


def section_suite(bench: Bench) -> None:
    """Time the fast tier and the whole suite once each (target 5)."""
    python = str(ROOT / ".venv" / "bin" / "python")
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    fast_argv, fast_how = _command(
        "test-fast", [*pytest, "-m", FAST_MARKERS], f'pytest -m "{FAST_MARKERS}"'
    )
    whole_argv, whole_how = _command("test", pytest, "pytest")
    fast, load = _timed(fast_argv)
    whole, load_whole = _timed(whole_argv)
    rows = (
        ("fast tier", fast_how, fast.wall_s, fast.cpu_s, FAST_S, fast.returncode == 0,
         f"load {load:.1f}; {_summary(fast)}"),
        ("whole suite", whole_how, whole.wall_s, whole.cpu_s, FULL_S, whole.returncode == 0,
         f"load {load_whole:.1f}; {_summary(whole)}"),
    )  # fmt: skip
    for name, how, wall, cpu, limit, passed, note in rows:
        ok = passed and wall <= limit
        bench.report.add(
            SEC,
            f"{name}: {how}",
            fmt_ms(wall),
            cpu=fmt_ms(cpu),
            target=f"<= {limit / 60:g} min",
            result=f"{'PASS' if ok else 'FAIL'} ({note})",
        )
        bench.report.put("suite", f"{name.split()[0]}_s", round(wall, 1))
        bench.report.target(
            "5", f"test suite, {name}", fmt_ms(wall), f"<= {limit / 60:g} min", ok, note
        )
