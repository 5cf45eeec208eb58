"""The one place that starts subprocesses: argument lists, timeouts, no shell."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence

from ._record import Record, record

__all__ = ["Completed", "pip", "run", "run_bytes"]


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


def run_bytes(args: Sequence[str], *, timeout: float = 30.0) -> bytes | None:
    """Run *args* and return its standard output as bytes, undecoded and untranslated (for a
    digest of it); None when it could not start, timed out or exited non-zero."""
    try:
        proc = subprocess.run(list(args), capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def pip(*args: str) -> list[str]:
    """``python -m pip ARGS`` for this interpreter; `BuildError` with the fix when it has no pip
    (a `uv tool install` or a ``--without-pip`` venv), rather than pip's own one-line failure."""
    import importlib.util

    from .errors import BuildError

    if importlib.util.find_spec("pip") is None:
        raise BuildError(
            f"{sys.executable} has no pip, which rebuild runs here to build wheels of local,"
            " VCS and sdist packages and to download locked files",
            hint=f"install pip next to envsnap: {sys.executable} -m ensurepip",
        )
    return [sys.executable, "-m", "pip", *args]
