"""Run envsnap in a child process under watch: its exit status, output, peak memory (the child's
own max RSS from wait4) and whether it had to be killed for running too long.

For the hostile-input tests: a capture that hangs a verb must fail a test, not the suite, and
one that makes envsnap take gigabytes must fail it without taking the machine's memory (an
address-space limit turns that into a MemoryError in the child).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
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


def _limit(address_space: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))


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
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=full,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=lambda: _limit(address_space_mb * _MIB),  # noqa: PLW1509 - no threads here
        )
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                timed_out = True
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            max_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
            timed_out=timed_out,
        )
