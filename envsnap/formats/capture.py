"""A capture folder, in and out: `load` is the one reader of its files, `write` writes them.

`load` (the in door) reads each file through its registered `Kind` (`envsnap.formats._read`):
regular files only, bounded in size and nesting, YAML aliases refused, every type validated,
one `InputError` naming the file and field. check, diff, rebuild, report, log and the fleet
read a capture only through it. `write` renders pylock.toml, requirements.txt, hardware.toml,
conda-lock.yml, numerics.toml and project.toml and hands them to the out door
(`envsnap._captureset.write_set`) as one set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .._defaults import DEFAULT_DIR
from .._record import Record, field, record
from ..model import Snapshot
from ._read import (
    KINDS,
    Kind,
    file_bytes,
    file_text,
    json_value,
    kind,
    parse,
    read,
    text_of,
    toml_table,
    yaml_value,
)

TYPE_CHECKING = False  # `typing` is not loaded on the capture path; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

    from ..model import CondaEnv, Environment, Hardware
    from .image import ImageRecord
    from .numerics import Numerics
    from .project import ProjectState

__all__ = [
    "KINDS",
    "SET_FILES",
    "Capture",
    "Kind",
    "file_bytes",
    "file_text",
    "json_value",
    "kind",
    "load",
    "read",
    "toml_table",
    "write",
    "yaml_value",
]


@record
class Capture(Record):
    """The files of one capture folder, each parsed and validated; None where absent (or not
    asked for). `lock` is pylock.toml's environment (slim: without per-package file lists,
    when loaded with ``slim=True``); `environment` adds the conda packages of conda-lock.yml.
    Parts of kinds without a field here are in `more` (see `part`); `data` holds each file's
    bytes as read."""

    directory: str
    lock: Environment
    requirements: str | None = None
    hardware: Hardware | None = None
    conda: CondaEnv | None = None
    project: ProjectState | None = None
    image: ImageRecord | None = None
    numerics: Numerics | None = None
    more: tuple[tuple[str, Any], ...] = ()
    data: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def environment(self) -> Environment:
        """The lock, with the conda environment of conda-lock.yml when the lock has none."""
        if self.conda is None or self.lock.conda is not None:
            return self.lock
        from ..model import replace

        return replace(self.lock, conda=self.conda)

    def part(self, name: str) -> Any:
        """The part called *name* (a `Kind.part` such as ``hardware``), or None."""
        if name in _FIELDS:
            return getattr(self, name)
        return dict(self.more).get(name)

    def sha256(self, name: str) -> str:
        """The hex sha256 of file *name*'s bytes as read (``""`` when it was not read)."""
        if name not in self.data:
            return ""
        import hashlib  # OpenSSL: only when a digest is asked for

        return hashlib.sha256(self.data[name]).hexdigest()


_FIELDS = ("lock", "requirements", "hardware", "conda", "project", "image", "numerics")
# The files every capture writes or removes, as one set.
SET_FILES = tuple(k.name for k in KINDS if k.in_set)


def load(
    directory: str | os.PathLike[str],
    *,
    parts: Iterable[str] | None = None,
    slim: bool = False,
) -> Capture:
    """Read the capture in *directory*: pylock.toml (required), and each other registered file
    that is present, or only those of *parts* (``hardware``, ``conda``...).

    With *slim* (check's fast path), the lock leaves out the per-package file lists that no
    rule reads, and the lock and hardware.toml come from a cache keyed by their bytes, so that
    a repeated check parses nothing. Every problem is one `InputError` naming the file.
    """
    root = Path(directory)
    _capture_lock(root)  # the one wording for a missing folder or lock
    wanted = KINDS if parts is None else tuple(kind(p) for p in parts)
    values: dict[str, Any] = {}
    data: dict[str, bytes] = {}
    for entry in KINDS:
        path = root / entry.name
        if not entry.required and (entry not in wanted or not os.path.lexists(path)):
            continue  # a link, FIFO or folder "exists" and is refused when read
        data[entry.name] = file_bytes(path, what=entry.name, limit=entry.limit)
        values[entry.part] = _value(entry, data[entry.name], str(path), slim)
    known = {k: v for k, v in values.items() if k in _FIELDS}
    more = tuple(sorted((k, v) for k, v in values.items() if k not in _FIELDS))
    return Capture(directory=str(directory), more=more, data=data, **known)


def _value(entry: Kind, data: bytes, source: str, slim: bool) -> Any:
    def parsed() -> Any:
        return parse(entry, text_of(data, source), source)

    if slim and entry.part == "lock":
        from ._parsecache import load_environment

        return load_environment(data, parsed)
    if slim and entry.part == "hardware":
        from ._parsecache import load_hardware

        return load_hardware(data, parsed)
    return parsed()


def _capture_lock(directory: str | os.PathLike[str]) -> Path:
    """The pylock.toml of the capture in *directory*; `InputError` in the one wording that
    check, diff and rebuild share when the folder or the lock is missing (naming the default
    when that is what was looked for)."""
    from ..errors import InputError

    root = Path(directory)
    default = f" (./{DEFAULT_DIR} is the default; pass the capture's folder as DIR)"
    note = default if root == Path(DEFAULT_DIR) else ""
    hint = f"run `envsnap capture` first (it writes ./{DEFAULT_DIR}, or -o DIR)"
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "capture directory not found"
        raise InputError(f"{root}: {what}{note}", hint=hint)
    lock = root / "pylock.toml"
    if not lock.is_file():
        raise InputError(f"{lock}: not found{note}", hint=hint)
    return lock


def write(
    snapshot: Snapshot,
    out_dir: str | os.PathLike[str],
    *,
    numerics: str | None = None,
    project: ProjectState | None = None,
) -> tuple[str, ...]:
    """Write pylock.toml, requirements.txt, hardware.toml, (for conda) conda-lock.yml,
    (with *numerics*) numerics.toml and (with *project*) project.toml (the code's git state).

    A file that already holds the same capture, apart from its capture time, is left as it is:
    re-capturing an unchanged environment writes nothing, and a committed lock shows no diff.
    """
    from . import hardware, pylock, requirements

    out = Path(out_dir)
    texts = {
        "pylock.toml": pylock.render(snapshot.environment),
        "requirements.txt": requirements.render(snapshot.environment),
    }
    if snapshot.hardware is not None:
        texts["hardware.toml"] = hardware.render(snapshot.hardware)
    if snapshot.environment.conda is not None:
        from . import condalock  # packaging.version, hashlib: only for a conda prefix

        texts["conda-lock.yml"] = condalock.render(snapshot.environment)
    if numerics is not None:  # the text of numerics.toml (envsnap.formats.numerics.render)
        texts["numerics.toml"] = numerics
    if project is not None:
        from . import project as project_toml

        texts[project_toml.PROJECT_FILE] = project_toml.render(project)
    from .._captureset import write_set
    from ..errors import InputError

    try:
        # One set: written beside the directory and moved in under a lock; a file of another
        # kind of environment (a stale conda-lock.yml) is removed.
        write_set(out, texts, members=SET_FILES, unchanged=_same_capture)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise InputError(f"{out}: cannot write the capture ({why})") from None
    return tuple(str(out / name) for name in texts)


def _same_capture(old: str, text: str) -> bool:
    """True when *old* (a capture file's text) differs from *text* only in its capture time."""
    return _without_stamp(old) == _without_stamp(text)


def _without_stamp(text: str) -> str:
    """*text* without the value of its ``created-at`` (TOML) or ``created_at`` (YAML) line:
    the capture time, one per file. str.find, not a regex: a warm lock is 450 KB."""
    for key in ("created-at = ", "created_at: "):
        at = text.find(key)
        while at > 0 and text[at - 1] == " ":  # YAML indents it
            at -= 1
        if at == 0 or (at > 0 and text[at - 1] == "\n"):
            end = text.find("\n", at)
            return text[:at] + (text[end:] if end >= 0 else "")
    return text
