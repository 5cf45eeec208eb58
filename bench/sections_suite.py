"""Bench section 11 (``--suite``, many minutes): the test suite's wall time, whole and fast tier.

Each runs once, as a developer runs it: the fast tier (`make test-fast` where the Makefile has
it, else ``pytest -m "not slow and not docker and not cluster"``), and the whole suite (what
`make test` runs) in two parts whose times add up: ``-m "not docker"``, then ``-m docker`` under
the lock every docker test run must hold on a shared daemon (held for the docker tests alone,
not for the whole suite). Targets: 2 minutes and 10 minutes on an idle 2-core machine; the load
average is noted beside each figure, since a busy machine stretches both.
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
RUN_LIMIT_S = 5400.0  # a run is stopped (and FAILs) after 90 minutes
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


def _timed(argv: list[str], lock: bool) -> tuple[Sample, float]:
    """One run of *argv* (under the docker lock when *lock*) and the load average before it."""
    load = os.getloadavg()[0]
    with _docker_lock() if lock else contextlib.nullcontext():
        return run_once(Cmd(argv), timeout=RUN_LIMIT_S), load


def section_suite(bench: Bench) -> None:
    """Time the fast tier and the whole suite once each (target 5)."""
    python = str(ROOT / ".venv" / "bin" / "python")
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    fast_argv, fast_how = _fast_command(python)
    fast, load = _timed(fast_argv, lock=False)
    rest, load_rest = _timed([*pytest, "-m", "not docker"], lock=False)
    docker, _ = _timed([*pytest, "-m", "docker"], lock=True)
    whole_s = rest.wall_s + docker.wall_s
    whole_ok = rest.returncode == 0 and docker.returncode in (0, 5)  # 5: no docker test ran
    whole_note = f"load {load_rest:.1f}; {_summary(rest)}; docker: {_summary(docker)}"
    rows = (
        ("fast tier", fast_how, fast.wall_s, fast.cpu_s, FAST_S, fast.returncode == 0,
         f"load {load:.1f}; {_summary(fast)}"),
        ("whole suite", 'pytest -m "not docker", then -m docker', whole_s,
         rest.cpu_s + docker.cpu_s, FULL_S, whole_ok, whole_note),
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
