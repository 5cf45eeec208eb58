"""Read a folder of node reports: every ``*.json`` file, each used or named as a `Problem`.

A report folder is shared by every node of a job, so its files are untrusted: they are read
through the in door (`envsnap.formats.capture.file_bytes`: regular files only, no link, FIFO or
device, at most `MAX_BYTES`; bounded JSON), and a truncated, foreign, malformed or deeply
nested file becomes one `Problem` line, never an exception. Hidden files are the writers' temp
files.
"""

from __future__ import annotations

import os

from envsnap.errors import InputError
from envsnap.formats.capture import file_bytes

from .aggregate import Problem
from .nodereport import MAX_BYTES, NodeReport, ReportError, parse

__all__ = ["MAX_BYTES", "collect"]


def _read(path: str) -> NodeReport:
    try:
        data = file_bytes(path, what="report", limit=MAX_BYTES)
    except InputError as exc:
        raise ReportError(exc.message.removeprefix(f"{path}: ")) from None
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
