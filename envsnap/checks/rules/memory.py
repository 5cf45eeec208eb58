"""Rules on memory: RAM and per-GPU memory against what the recorded run had."""

from __future__ import annotations

from envsnap.findings import Finding
from envsnap.model import Snapshot

from ._common import for_gpu, gpu_devices

__all__ = ["GPU_MARGIN", "RAM_MARGIN", "RULES", "gpu_memory", "ram"]

# (ok_at_or_above, warning_at_or_above) as fractions of the recorded size; below the second
# → error. Why these margins:
# - RAM: MemTotal of two identical machines differs by up to ~1-2 % (firmware reservations,
#   crashkernel, kernel version), so >= 98 % counts as the same. Down to 85 % the job usually
#   still fits (the page cache gives way first) but a run that filled RAM may now OOM: warning.
#   Below 85 % is a different machine class (e.g. 512 → 384 GiB): error.
# - GPU memory: NVML's total is fixed per model, but ECC on GDDR boards reserves 1/16 (6.25 %),
#   and 80 GB models differ slightly (A100 81920 MiB vs H100 81559 MiB, 99.6 %). >= 99 % is the
#   same; down to 90 % covers the ECC reservation and model variants, but batch sizes are tuned
#   to fill the card, so a warning; below 90 % (e.g. 80 → 40 GB) the recorded batch will OOM.
RAM_MARGIN = (0.98, 0.85)
GPU_MARGIN = (0.99, 0.90)

_GIB = 1024**3


def _grade(have: int, had: int, margin: tuple[float, float]) -> str | None:
    if had <= 0 or have <= 0 or have >= had * margin[0]:
        return None
    return "warning" if have >= had * margin[1] else "error"


def _gib(n: int) -> str:
    return f"{n / _GIB:.1f} GiB"


def _shortfall(
    had: int, have: int, margin: tuple[float, float], *, what: str, code: str, remedy: str
) -> list[Finding]:
    """One finding when *have* falls short of *had* by more than *margin* allows, else none."""
    severity = _grade(have, had, margin)
    if severity is None:
        return []
    message = f"less {what} than the recorded run ({have / had:.0%})"
    return [Finding(severity, "memory", code, message, _gib(had), _gib(have), remedy)]


def ram(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Less RAM than recorded: warning within the margin above; error far below it (another
    machine class, where the recorded run's working set does not fit)."""
    if recorded.hardware is None or current.hardware is None:
        return []
    return _shortfall(
        recorded.hardware.memory.total_bytes,
        current.hardware.memory.total_bytes,
        RAM_MARGIN,
        what="RAM",
        code="memory.ram",
        remedy="run on a machine with the recorded RAM, or reduce data loader workers/prefetch",
    )


def gpu_memory(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Less memory on the smallest GPU than on the smallest recorded GPU: warning within the
    margin; error far below it (the recorded per-GPU batch will not fit). Info when nothing in
    the capture uses the GPU."""
    rec, cur = gpu_devices(recorded), gpu_devices(current)
    if not rec or not cur:
        return []
    found = _shortfall(
        min(g.memory_total_bytes for g in rec),
        min(g.memory_total_bytes for g in cur),
        GPU_MARGIN,
        what="GPU memory",
        code="memory.gpu",
        remedy="use GPUs with the recorded memory, or reduce the per-GPU batch size",
    )
    return for_gpu(found, recorded)


RULES = (ram, gpu_memory)
