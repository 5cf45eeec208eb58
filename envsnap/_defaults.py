"""Names every layer shares: the distribution's name and the default capture folder.

Only `os` and `pathlib` (loaded by every start anyway): the commands that start every job read
these before anything else loads.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_DIR", "DISTRIBUTION", "capture_lock", "importable_name"]

# The distribution (pyproject `name`, the tool wheel in images). "envsnap" on the public index
# is an unrelated project: nothing may install envsnap by that name from an index. The import
# package and the command stay `envsnap`.
DISTRIBUTION = "envsnap-ml"

# Where capture writes and check/rebuild read by default. Not a Python identifier (the dash),
# so a capture in the current directory can never be imported as a namespace package that
# shadows `import envsnap` (or any other package) beside an editable install.
DEFAULT_DIR = "envsnap-capture"


def importable_name(folder: str) -> bool:
    """True when a folder of this name in the current directory or on sys.path could be
    imported as a (namespace) package: its last component is a Python identifier."""
    name = folder.rstrip("/").rsplit("/", 1)[-1]
    return name.isidentifier()


def capture_lock(directory: str | os.PathLike[str]) -> Path:
    """The pylock.toml of the capture in *directory*; `InputError` in the one wording that
    check, diff and rebuild share when the folder or the lock is missing (naming the default
    when that is what was looked for)."""
    from .errors import InputError

    root = Path(directory)
    default = f" (./{DEFAULT_DIR} is the default; pass the capture's folder as DIR)"
    note = default if root == Path(DEFAULT_DIR) else ""
    hint = f"run `envsnap capture` first (it writes ./{DEFAULT_DIR}, or -o DIR)"
    if root.exists() and not root.is_dir():
        # `check envsnap-capture/pylock.toml`: a capture's file given for its folder
        folder = root.parent
        if (folder / "pylock.toml").is_file():
            hint = f"pass the folder that holds it as DIR: {folder}"
        raise InputError(f"{root}: is a file, not a capture folder", hint=hint)
    if not root.is_dir():
        raise InputError(f"{root}: capture directory not found{note}", hint=hint)
    lock = root / "pylock.toml"
    if not lock.is_file():
        raise InputError(f"{lock}: not found{note}", hint=hint)
    return lock
