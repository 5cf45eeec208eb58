"""Run the battery in a target interpreter, in a subprocess with a time limit.

The battery's text runs as ``PYTHON -c SOURCE CONFIG``: the target needs none of envsnap, and
the frameworks it imports are the target's own (a rebuilt image's /opt/venv/bin/python).
Environment overrides (a remedy's ``OPENBLAS_NUM_THREADS=1``) apply to that subprocess only, and
only those the allow-list accepts in their shape (`envsnap._subprocess.run_untrusted`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from envsnap.errors import CaptureError
from envsnap.model import ModelError

from .model import Numerics, from_battery

__all__ = [
    "TIMEOUT_S",
    "battery_command",
    "battery_version",
    "parse_output",
    "run_battery",
    "script_source",
]

TIMEOUT_S = 300.0


def battery_version() -> str:
    """The version of the battery this envsnap runs (`_battery.BATTERY_VERSION`)."""
    from ._battery import BATTERY_VERSION  # the standard library only: cheap to import here

    return BATTERY_VERSION


def _source() -> str:
    return Path(__file__).with_name("_battery.py").read_text(encoding="utf-8")


def script_source(path: Path) -> str:
    """The text of the stand-alone script at *path* with `switches.py` before it, to run as
    ``PYTHON -c TEXT`` in an interpreter without envsnap (the battery, the repro bootstrap)."""
    # a __future__ import must open the text, so it opens the joined text once
    future = "from __future__ import annotations\n"
    parts = [Path(__file__).with_name("switches.py"), path]
    texts = [p.read_text(encoding="utf-8").replace(future, "", 1) for p in parts]
    return future + "\n\n".join(texts)


def run_battery(
    python: str | None = None,
    *,
    timeout: float = TIMEOUT_S,
    only: Iterable[str] | None = None,
    env: Mapping[str, str | None] | None = None,
    settings: Mapping[str, object] | None = None,
) -> Numerics:
    """Run the battery in *python* (default: this interpreter) and return what it measured.

    *only* limits it to those probe ids; *env* sets (value) or removes (None) allow-listed
    variables in the subprocess environment (any other is left out); *settings* are applied
    inside it (``torch_threads``, ``tf32``, ``deterministic``). A battery killed by *timeout*
    is returned with ``complete=False`` and the reason; one that fails otherwise raises
    `CaptureError` with its last line of stderr.
    """
    from envsnap import _subprocess

    exe = _subprocess.interpreter(python) if python else sys.executable
    start = time.monotonic()
    # *env* comes from a capture (a remedy's recorded value): only allow-listed variables in
    # their shape reach the battery; PYTHONPATH pointing into the capture never does.
    done = _subprocess.run_untrusted(
        battery_command(exe, only=only, settings=settings), changes=env or {}, timeout=timeout
    )
    if done.returncode is None:
        if time.monotonic() - start >= timeout:
            return Numerics(
                battery_version=battery_version(),
                complete=False,
                reason=f"the battery did not finish within its time limit of {timeout:g} s",
            )
        raise CaptureError(f"{exe}: could not run the numerics battery ({done.stderr.strip()})")
    if not done.ok:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise CaptureError(f"{exe}: the numerics battery failed ({last[:300]})")
    return parse_output(exe, done.stdout)


def battery_command(
    exe: str,
    *,
    only: Iterable[str] | None = None,
    settings: Mapping[str, object] | None = None,
) -> list[str]:
    """The argv that runs the battery in interpreter *exe* (on this machine or in a container)."""
    config = {"only": sorted(only) if only is not None else None, "settings": dict(settings or {})}
    source = script_source(Path(__file__).with_name("_battery.py"))
    return [exe, "-c", source, json.dumps(config)]


def parse_output(exe: str, stdout: str) -> Numerics:
    """The `Numerics` in the battery's output (its last line); `CaptureError` when none."""
    try:
        return from_battery(json.loads(stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError, ModelError) as exc:
        raise CaptureError(f"{exe}: the numerics battery printed no result ({exc})") from None
