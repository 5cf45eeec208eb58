"""The files of one capture, written as one set: pylock.toml, requirements.txt, hardware.toml,
conda-lock.yml, numerics.toml and project.toml, each rendered by its format module."""

from __future__ import annotations

import os
from pathlib import Path

from ..model import Snapshot

TYPE_CHECKING = False  # `typing` is not loaded on the capture path; mypy and ruff read this name
if TYPE_CHECKING:
    from .project import ProjectState

__all__ = ["write"]


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
    if numerics is not None:  # the text of numerics.toml (envsnap.numerics.fileformat.render)
        texts["numerics.toml"] = numerics
    if project is not None:
        from . import project as project_toml

        texts[project_toml.PROJECT_FILE] = project_toml.render(project)
    from .._captureset import write_set
    from ..errors import InputError

    try:
        # One set: written beside the directory and moved in under a lock; a file of another
        # kind of environment (a stale conda-lock.yml) is removed.
        write_set(out, texts, unchanged=_same_capture)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise InputError(f"{out}: cannot write the capture ({why})") from None
    return tuple(str(out / name) for name in texts)


def _same_capture(path: Path, text: str) -> bool:
    """True when the regular file at *path* differs from *text* only in its capture time."""
    import stat

    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False  # a symlink or FIFO in the capture's place: replaced, never followed
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
    except (OSError, UnicodeDecodeError):
        return False
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
