"""Rules on the capture's own coverage: a capture without hardware.toml is checked for its
software only, and the report says so."""

from __future__ import annotations

from envsnap.findings import Finding
from envsnap.model import Snapshot

__all__ = ["RULES", "hardware_skipped"]


def hardware_skipped(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """No hardware.toml on one side: GPUs, driver, CPU and memory were not compared (info).

    Never an error or a warning: nothing is known to differ, only less was checked.
    """
    missing = [
        side
        for side, snap in (("the capture", recorded), ("the other capture", current))
        if snap.hardware is None
    ]
    if not missing:
        return []
    return [
        Finding(
            "info",
            "hardware",
            "hardware.skipped",
            f"{' and '.join(missing)} {'have' if len(missing) > 1 else 'has'} no hardware.toml: "
            "GPUs, driver, CPU and memory were not checked",
            "hardware.toml",
            "none",
            "capture again with envsnap capture (it writes hardware.toml)",
        )
    ]


RULES = (hardware_skipped,)
