"""The one place that starts subprocesses: argument lists, timeouts, no shell."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

from ._record import Record, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

__all__ = ["Completed", "Streamed", "changed_env", "pip", "run", "run_bytes", "stream"]


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


def changed_env(base: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """*base* with *changes* applied: a value sets the variable, None removes it."""
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


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


@record
class Streamed(Record):
    """What `stream` saw: the exit status (None: could not start, or killed by the time limit),
    the last lines of output, and the wall time."""

    args: tuple[str, ...]
    returncode: int | None
    tail: tuple[str, ...]
    seconds: float
    timed_out: bool = False
    error: str = ""  # why it could not start


def stream(
    args: Sequence[str],
    *,
    log: str,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    tick: Callable[[float], None] | None = None,
    echo: Callable[[str], None] | None = None,
    keep: int = 20,
) -> Streamed:
    """Run *args* (a job that may take hours) with stdout and stderr into the file *log*.

    *tick* is called with the elapsed seconds about twice a second (live progress); *echo*, when
    given, receives each line of output as it comes (decoded, undecodable bytes replaced). The
    job runs in its own process group: on a time-out or an interrupt the whole group is killed,
    so no child of the job outlives it. The last *keep* lines are read back from *log*.
    """
    import threading
    import time

    start = time.monotonic()
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if echo else out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            return Streamed(tuple(args), None, (), 0.0, error=exc.strerror or str(exc))
        reader = None
        if echo is not None and proc.stdout is not None:
            reader = threading.Thread(target=_copy, args=(proc.stdout, out, echo), daemon=True)
            reader.start()
        timed_out = False
        try:
            while True:
                try:
                    proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - start
                    if timeout is not None and elapsed >= timeout:
                        timed_out = True
                        _kill_group(proc)
                        break
                    if tick is not None:
                        tick(elapsed)
        except BaseException:  # KeyboardInterrupt: nothing of the job may keep running
            _kill_group(proc)
            raise
        finally:
            if reader is not None:
                reader.join(timeout=5)
    seconds = time.monotonic() - start
    code = None if timed_out else proc.returncode
    return Streamed(tuple(args), code, _tail(log, keep), seconds, timed_out=timed_out)


def _copy(pipe: IO[bytes], out: IO[bytes], echo: Callable[[str], None]) -> None:
    for line in iter(pipe.readline, b""):
        out.write(line)
        echo(line.decode("utf-8", "replace").rstrip("\r\n"))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    import contextlib
    import os
    import signal

    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: str, keep: int) -> tuple[str, ...]:
    """The last *keep* lines of the file at *path* (read from its last 64 KiB)."""
    import os

    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - 65536))
        data = fh.read()
    lines = data.decode("utf-8", "replace").splitlines()
    if size > 65536 and lines:
        lines = lines[1:]  # the first one is cut
    return tuple(lines[-keep:])
