"""Time one command and read its peak memory, from a wrapper process of its own.

`getrusage(RUSAGE_CHILDREN).ru_maxrss` is the largest RSS of any waited-for descendant, so it can
only be read per command from a process whose sole child is that command: `measure()` starts
this module as that wrapper (``python measure.py --out F --err F -- CMD...``), which runs CMD,
times it with `perf_counter` (the wrapper's own start-up is outside the timing) and prints one
JSON line: wall seconds, peak RSS in KiB and the exit status.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Sample", "Stats", "failure_line", "measure", "summarize"]

_WRAPPER = Path(__file__).resolve()


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
    """Run *cmd* under the wrapper and return its wall time, peak RSS, status and output."""
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        wrapper = [sys.executable, str(_WRAPPER), "--out", str(out), "--err", str(err), "--"]
        proc = subprocess.run(
            [*wrapper, *cmd],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0 or not proc.stdout.strip():
            why = proc.stderr or f"wrapper failed: {proc.returncode}"
            return Sample(0.0, 0, 127, "", why, 0.0)
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        return Sample(
            wall_s=float(data["wall_s"]),
            maxrss_kib=int(data["maxrss_kib"]),
            returncode=int(data["returncode"]),
            stdout=out.read_text(errors="replace"),
            stderr=err.read_text(errors="replace"),
            cpu_s=float(data["cpu_s"]),
        )


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


def _wrap(argv: list[str]) -> int:
    # argv: --out FILE --err FILE -- CMD...
    sep = argv.index("--")
    opts = dict(zip(argv[0:sep:2], argv[1:sep:2]))
    cmd = argv[sep + 1 :]
    with open(opts["--out"], "wb") as out, open(opts["--err"], "wb") as err:
        start = time.perf_counter()
        try:
            code = subprocess.run(
                cmd, check=False, stdout=out, stderr=err, stdin=subprocess.DEVNULL
            ).returncode
        except OSError as exc:
            err.write(f"{cmd[0]}: {exc}\n".encode())
            code = 127
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "wall_s": wall,
        "maxrss_kib": usage.ru_maxrss,  # KiB on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "returncode": code,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_wrap(sys.argv[1:]))
