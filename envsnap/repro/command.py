"""The job's command line: is it a Python command, which interpreter runs it, and how to run it
under the bootstrap (switches) or with another interpreter (--venv)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from envsnap._record import Record, record
from envsnap.errors import InputError

from .._regex import lazy

__all__ = ["Job", "parse"]

_PYTHON = lazy(r"python(?:[23](?:\.[0-9]+)?)?")
# Interpreter options that take a value (python -W error script.py); the rest are flags.
_WITH_VALUE = frozenset({"-W", "-X", "--check-hash-based-pycs"})
_FLAGS = lazy(r"-[bBdEhiIOqsSuvVx]+")


@record
class Job(Record):
    """A command to run: its argv, and for a Python command the interpreter, the interpreter's
    own options and what it runs (``script.py ...``, ``-m module ...`` or ``-c code ...``)."""

    argv: tuple[str, ...]
    python: str = ""  # the interpreter as written in argv[0]; "" for another command
    options: tuple[str, ...] = ()
    target: tuple[str, ...] = ()

    @property
    def is_python(self) -> bool:
        """True for ``python [options] script.py|-m mod|-c code ...``."""
        return bool(self.python)

    def with_python(self, exe: str) -> Job:
        """The same job run by interpreter *exe*."""
        if not self.is_python:
            return self
        return Job((exe, *self.argv[1:]), exe, self.options, self.target)

    def located(self, workdir: Path) -> Job:
        """The job with a relative program path that leads out of *workdir* made absolute (each
        run works in a copy of *workdir*, where ``../venv/bin/python`` would lead elsewhere);
        one inside it stays relative, so that each run runs its own copy."""
        exe = self.argv[0]
        if "/" not in exe or Path(exe).is_absolute():
            return self
        full = os.path.normpath(workdir / exe)
        if full == str(workdir) or full.startswith(str(workdir) + os.sep):
            return self
        argv = (full, *self.argv[1:])
        return Job(argv, full if self.python else "", self.options, self.target)

    def booted(self, settings: dict[str, object], source: str | None) -> tuple[str, ...]:
        """The argv that runs the job under the bootstrap with *settings*: ``python -m
        envsnap.repro.boot`` when *source* is None, else the bootstrap's text with ``-c``."""
        boot = ("-m", "envsnap.repro.boot") if source is None else ("-c", source)
        return (self.python, *self.options, *boot, json.dumps(settings), "--", *self.target)


def parse(argv: list[str]) -> Job:
    """The job in *argv* (after ``--``); `InputError` for an empty one."""
    if not argv:
        raise InputError("no command to run", hint="envsnap repro [options] -- COMMAND [ARGS...]")
    if not _PYTHON.fullmatch(Path(argv[0]).name):
        return Job(tuple(argv))
    options: list[str] = []
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("-m", "-c"):
            if i + 1 >= len(argv):
                raise InputError(f"{argv[0]} {arg}: expected a value after it")
            return Job(tuple(argv), argv[0], tuple(options), tuple(argv[i:]))
        if arg in _WITH_VALUE and i + 1 < len(argv):
            options += [arg, argv[i + 1]]
            i += 2
        elif arg.startswith(("-W", "-X")) or _FLAGS.fullmatch(arg):
            options.append(arg)
            i += 1
        elif arg.startswith("-"):
            return Job(tuple(argv))  # an option we do not know: run it as written, no switches
        else:
            return Job(tuple(argv), argv[0], tuple(options), tuple(argv[i:]))
    return Job(tuple(argv))  # an interactive interpreter: nothing to run as a job


def resolve(exe: str, workdir: Path, path: str | None) -> str | None:
    """The file that runs as *exe* from *workdir* with search path *path*, or None: a bare
    name from the absolute folders of *path* only, as `_subprocess.stream` runs it."""
    if "/" in exe:
        full = Path(exe) if Path(exe).is_absolute() else workdir / exe
        return str(full) if full.is_file() and os.access(full, os.X_OK) else None
    from envsnap._subprocess import which

    return which(exe, path=path)


def check_found(job: Job, workdir: Path, env: dict[str, str]) -> None:
    """`InputError` when the job's program cannot be found (before any run starts)."""
    from envsnap import _redact

    exe = job.argv[0]
    if resolve(exe, workdir, env.get("PATH", os.defpath)) is None:
        where = "in the working directory" if "/" in exe else "on PATH"
        raise InputError(f"{_redact.text(exe)}: command not found ({where})")


def venv_python(path: str) -> tuple[str, str]:
    """(the interpreter, the environment's folder) of --venv *path*: a venv or conda folder
    (its bin/python), or an interpreter; `InputError` when it is neither."""
    p = Path(path).absolute()  # each run works elsewhere; a venv's bin/python link is kept
    for exe in (p / "bin" / "python", p / "bin" / "python3"):
        if exe.is_file() and os.access(exe, os.X_OK):
            return str(exe), str(p)
    if p.is_file() and os.access(p, os.X_OK):
        return str(p), str(p.parent.parent)
    raise InputError(f"--venv {path}: no bin/python there, and not an interpreter")
