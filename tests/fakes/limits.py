"""Run envsnap in a child process under watch: its exit status, output, peak memory (the child's
own max RSS from wait4) and whether it had to be killed for running too long.

The child is started by a small launcher, not by the test process: Linux carries the parent's
peak RSS into a child's ``ru_maxrss`` across fork and exec, so a child of a pytest worker that
has grown to 260 MB would report 260 MB whatever it did itself.

For the hostile-input tests: a capture that hangs a verb must fail a test, not the suite, and
one that makes envsnap take gigabytes must fail it without taking the machine's memory (an
address-space limit turns that into a MemoryError in the child).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from envsnap._record import Record, record

__all__ = ["ROOT", "Measured", "run_measured"]

ROOT = Path(__file__).resolve().parents[2]
_MIB = 1 << 20


@record
class Measured(Record):
    """How one child run went; `max_rss_mb` is its peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    timed_out: bool


_LAUNCHER = r"""
import json, os, resource, signal, sys, time
limit, timeout, report = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
pid = os.fork()
if pid == 0:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.execv(sys.executable, [sys.executable, *sys.argv[4:]])
    finally:
        os._exit(127)
deadline, timed_out = time.monotonic() + timeout, False
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        timed_out = True
        os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        break
    time.sleep(0.05)
with open(report, "w") as fh:
    json.dump({"code": os.waitstatus_to_exitcode(status), "kib": usage.ru_maxrss,
               "timed_out": timed_out}, fh)
"""


def run_measured(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
    address_space_mb: int = 2048,
    module: str = "envsnap",
) -> Measured:
    """Run ``python -m MODULE ARGS`` (this tree on PYTHONPATH); kill it after *timeout* s."""
    full = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    full["PYTHONPATH"] = str(ROOT)
    full.update(env or {})
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        report = Path(scratch) / "usage.json"
        launcher = [sys.executable, "-I", "-c", _LAUNCHER]
        limits = [str(address_space_mb * _MIB), str(timeout), str(report)]
        subprocess.run(
            [*launcher, *limits, "-m", module, *args],
            env=full,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            check=False,
            timeout=timeout + 60,
        )
        usage = json.loads(report.read_text(encoding="utf-8"))
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=usage["code"],
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            max_rss_mb=usage["kib"] / 1024,  # KiB on Linux
            timed_out=usage["timed_out"],
        )
