"""Torch checkpoints, read by an interpreter that has torch: the job's own, else envsnap's.

envsnap itself does not need torch: `_torchdump.py` runs as ``PYTHON -c SOURCE PAIRS`` in the
first of the given interpreters that can import torch, loads each checkpoint with
``weights_only=True`` and writes it as a safetensors file that `compare` reads like any other.
"""

from __future__ import annotations

import json
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Converter"]

TIMEOUT_S = 600.0
_HAS_TORCH = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"


class Converter:
    """Call with ``[(checkpoint, output), ...]``; returns ``{checkpoint: "ok" or why not}``."""

    def __init__(self, pythons: Sequence[str]) -> None:
        self.pythons = list(dict.fromkeys(p for p in pythons if p))
        self._python: str | None = None
        self._looked = False

    def python(self) -> str | None:
        """The first interpreter that can import torch (looked up once), or None."""
        if not self._looked:
            from envsnap import _subprocess

            self._looked = True
            for exe in self.pythons:
                if _subprocess.run([exe, "-c", _HAS_TORCH], timeout=60).ok:
                    self._python = exe
                    break
        return self._python

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
        from envsnap import _subprocess

        exe = self.python()
        if exe is None:
            why = "torch is not importable by " + (" or ".join(self.pythons) or "any interpreter")
            return {src: why for src, _ in pairs}
        source = Path(__file__).with_name("_torchdump.py").read_text(encoding="utf-8")
        done = _subprocess.run(
            [exe, "-c", source, json.dumps([list(p) for p in pairs])], timeout=TIMEOUT_S
        )
        from envsnap.errors import InputError
        from envsnap.formats.capture import json_value

        try:
            answer = json_value(done.stdout.strip().splitlines()[-1], "the converter")
        except (InputError, IndexError):
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            return {src: f"the converter failed ({last})" for src, _ in pairs}
        if not isinstance(answer, dict):
            return {src: "the converter gave no answer" for src, _ in pairs}
        return {str(k): str(v) for k, v in answer.items()}
