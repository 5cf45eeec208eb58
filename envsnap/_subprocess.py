"""The one place that starts subprocesses: argument lists, timeouts, no shell."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from ._record import Record, record

__all__ = ["Completed", "run"]


@record
class Completed(Record):
    """What a finished command returned; `returncode` is None when it could not start."""

    args: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the command started and exited 0."""
        return self.returncode == 0


def run(
    args: Sequence[str],
    *,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    input_text: str | None = None,
) -> Completed:
    """Run *args* and capture its output; never raises for a missing binary or a timeout."""
    try:
        proc = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=input_text,
            check=False,
            errors="replace",
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Completed(tuple(args), None, "", str(exc))
    return Completed(tuple(args), proc.returncode, proc.stdout, proc.stderr)
