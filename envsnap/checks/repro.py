"""What `check` says about a capture's repro.toml: was the recorded verdict reached with the
environment that the capture now records?

repro.toml keeps the sha256 of the capture's pylock.toml (and its numerics digest) from when
`envsnap repro` ran. When the capture has been re-made since (other packages, another machine's
numerics), the recorded outputs came from an environment that differs: an info finding says so
and how to record the verdict again. A repro.toml that cannot be read is a warning, never a
reason to refuse the check.
"""

from __future__ import annotations

import os
from pathlib import Path

from envsnap._io import file_sha256
from envsnap.errors import InputError
from envsnap.findings import Finding

__all__ = ["findings"]


def findings(directory: str | os.PathLike[str]) -> list[Finding]:
    """The repro findings of the capture in *directory* (which holds a repro.toml)."""
    from envsnap.formats import repro

    root = Path(directory)
    path = root / repro.FILENAME
    try:
        rec = repro.load(path)
    except InputError as exc:
        return [
            Finding(
                "warning",
                "repro",
                "repro.unreadable",
                exc.message,
                remedy="record it again: envsnap repro --capture DIR -- COMMAND",
            )
        ]
    out = []
    again = "record the verdict again: envsnap repro --capture DIR -- COMMAND"
    lock = f"sha256:{file_sha256(root / 'pylock.toml')}"
    if rec.lock_digest and rec.lock_digest != lock:
        out.append(
            Finding(
                "info",
                "repro",
                "repro.other-lock",
                f"{path}: the recorded verdict came from another environment: its lock "
                "differs from this capture's pylock.toml",
                expected=rec.lock_digest,
                actual=lock,
                remedy=again,
            )
        )
    numerics = _numerics_digest(root)
    if rec.numerics_digest and numerics and rec.numerics_digest != numerics:
        out.append(
            Finding(
                "info",
                "repro",
                "repro.other-numerics",
                f"{path}: the recorded verdict came from a machine whose numerics differ from "
                "this capture's numerics.toml",
                expected=rec.numerics_digest,
                actual=numerics,
                remedy=again,
            )
        )
    return out


def _numerics_digest(root: Path) -> str:
    path = root / "numerics.toml"
    if not path.is_file():
        return ""
    from envsnap.formats import numerics as fileformat

    try:
        return "sha256:" + fileformat.digest(fileformat.load(path))
    except InputError:
        return ""
