"""Time one command and read its peak memory, from a launcher process of its own.

`measure()` starts `launch.py` (``python -I -S launch.py OUT ERR -- CMD...``), which forks and
execs CMD, times it with `perf_counter` (the launcher's own start-up is outside the timing) and
reads its CPU time and peak RSS from ``wait4``. The launcher imports nothing: Linux carries a
parent's peak RSS into its child's ``ru_maxrss`` across fork and exec, so a launcher with json
and subprocess loaded (15 MiB) hid every figure below its own. `launcher_floor` measures what is
left of that floor (``true`` under the launcher).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Sample", "Stats", "failure_line", "launcher_floor", "measure", "summarize"]

_LAUNCHER = Path(__file__).resolve().with_name("launch.py")


@dataclass(frozen=True)
class Sample:
    """One run of one command."""

    wall_s: float
    maxrss_kib: int
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float  # user + system time of the command and the children it waited for


@dataclass(frozen=True)
class Stats:
    """Median and spread of several samples of one command."""

    median_s: float
    min_s: float
    max_s: float
    rss_kib: int  # median of the peaks
    runs: int
    cpu_s: float  # median CPU time: far less sensitive than wall time to a loaded machine

    @property
    def median_ms(self) -> float:
        """The median wall time in milliseconds."""
        return self.median_s * 1000.0


def measure(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 900.0,
) -> Sample:
    """Run *cmd* under the launcher and return its wall time, peak RSS, status and output."""
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        launcher = [sys.executable, "-I", "-S", str(_LAUNCHER), str(out), str(err), "--"]
        # A session of its own: on a time-out the launcher and whatever the command started
        # (a test suite's workers) are killed together, none is left running.
        with subprocess.Popen(
            [*launcher, *cmd],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as proc:
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                return Sample(timeout, 0, 124, "", f"timed out after {timeout:g} s", 0.0)
        fields = stdout.split()
        if proc.returncode != 0 or len(fields) != 4:
            why = stderr or f"launcher failed: {proc.returncode}"
            return Sample(0.0, 0, 127, "", why, 0.0)
        return Sample(
            wall_s=float(fields[0]),
            maxrss_kib=int(fields[1]),
            returncode=int(fields[3]),
            stdout=out.read_text(errors="replace"),
            stderr=err.read_text(errors="replace"),
            cpu_s=float(fields[2]),
        )


def launcher_floor() -> int:
    """The peak RSS (KiB) the launcher reports for ``true``: no figure can read below it."""
    return min(measure(["true"]).maxrss_kib for _ in range(3))


def summarize(samples: Sequence[Sample]) -> Stats:
    """Return the median wall time, its range and the median peak RSS of *samples*."""
    walls = [s.wall_s for s in samples]
    return Stats(
        median_s=statistics.median(walls),
        min_s=min(walls),
        max_s=max(walls),
        rss_kib=int(statistics.median([s.maxrss_kib for s in samples])),
        runs=len(samples),
        cpu_s=statistics.median([s.cpu_s for s in samples]),
    )


def failure_line(sample: Sample) -> str:
    """The line that best says why a command failed.

    The last line that names an error (the CLI's "envsnap: error: ..." comes after progress
    lines), else a traceback's or usage block's last line, else stderr's first line.
    """
    lines = [ln.strip() for ln in sample.stderr.splitlines() if ln.strip()]
    if not lines:
        return f"exit status {sample.returncode}, no output on stderr"
    errors = [ln for ln in lines if "error" in ln.lower()]
    if errors:
        return errors[-1]
    return lines[-1] if lines[0].startswith(("Traceback", "usage:")) else lines[0]
