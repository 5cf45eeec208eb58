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

from envsnap.errors import InputError
from envsnap.findings import Finding

__all__ = ["findings"]

_AGAIN = "record the verdict again: envsnap repro --capture DIR -- COMMAND"


def findings(directory: str | os.PathLike[str]) -> list[Finding]:
    """The repro findings of the capture in *directory* (which holds a repro.toml), read
    through the in door (`Capture.part("repro")`)."""
    from envsnap.formats.capture import load

    try:
        found = load(directory, parts=("repro",), slim=True)
    except InputError as exc:
        return [Finding("warning", "repro", "repro.unreadable", exc.message, remedy=_AGAIN)]
    rec = found.part("repro")
    if rec is None:
        return []
    path = Path(directory) / "repro.toml"
    out = []
    lock = f"sha256:{found.sha256('pylock.toml')}"
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
                remedy=_AGAIN,
            )
        )
    numerics = _numerics_digest(directory)
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
                remedy=_AGAIN,
            )
        )
    return out


def _numerics_digest(directory: str | os.PathLike[str]) -> str:
    """``sha256:…`` of the capture's numerics probes; "" when it has no readable numerics.toml
    (`check --numerics` says what is wrong with it)."""
    path = Path(directory) / "numerics.toml"
    if not os.path.lexists(path):
        return ""
    from envsnap.formats import numerics

    try:
        return "sha256:" + numerics.digest(numerics.load(path))
    except InputError:
        return ""
