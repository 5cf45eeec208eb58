"""Read a folder of node reports: every ``*.json`` file, each used or named as a `Problem`.

A report folder is shared by every node of a job, so its files are untrusted: only regular
files (no links) of at most `MAX_BYTES` are read, and a truncated, foreign or malformed file
becomes one `Problem` line, never an exception. Hidden files are the writers' temp files.
"""

from __future__ import annotations

import os
import stat

from envsnap.errors import InputError

from .aggregate import Problem
from .report import NodeReport, ReportError, parse

__all__ = ["MAX_BYTES", "collect"]

MAX_BYTES = 1 << 20  # a report is a few KB; a much larger file is not one


def _read(path: str) -> NodeReport:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ReportError("not a regular file")
        data = os.read(fd, MAX_BYTES + 1)
        while data and len(data) <= MAX_BYTES and (more := os.read(fd, MAX_BYTES + 1 - len(data))):
            data += more  # a short read (a network file system)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ReportError(f"larger than {MAX_BYTES >> 10} KiB: not a node report")
    if not data.strip():
        raise ReportError("empty (the node did not finish writing?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError("not UTF-8 text") from None
    return parse(text)


def collect(directory: str | os.PathLike[str]) -> tuple[list[NodeReport], list[Problem]]:
    """The node reports in *directory*, and a `Problem` for each ``*.json`` that is not one."""
    root = os.fspath(directory)
    try:
        entries = [e for e in os.scandir(root) if e.name.endswith(".json")]
    except FileNotFoundError:
        raise InputError(f"{root}: report folder not found") from None
    except NotADirectoryError:
        raise InputError(f"{root}: not a directory") from None
    except OSError as exc:
        raise InputError(f"{root}: cannot read ({exc.strerror})") from None
    reports: list[NodeReport] = []
    problems: list[Problem] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue  # a writer's temp file (envsnap._io.write_atomic)
        try:
            if entry.is_symlink():
                raise ReportError("a symbolic link, not a report")
            reports.append(_read(entry.path))
        except ReportError as exc:
            fatal = str(exc) != "not an envsnap node report"
            problems.append(Problem(entry.path, str(exc), fatal))
        except OSError as exc:
            problems.append(Problem(entry.path, f"cannot read ({exc.strerror})"))
    return reports, problems
