"""Compare a recorded numerics fingerprint with a current one, probe by probe (pure).

Statuses: ``identical`` (same sha256), ``differs`` (another sha256; the samples say by how many
ulps), ``nondeterministic`` (runs here disagree with each other), ``failed`` (the probe raised
here), ``not-measurable`` (framework or device missing here). Samples compare in units in the
last place of the probe's dtype, through the integer order of the IEEE bit patterns.
"""

from __future__ import annotations

import struct

from envsnap import _redact
from envsnap._record import Record, record

from .attribution import causes
from .model import Numerics, ProbeResult

__all__ = ["ProbeComparison", "compare", "ordered_bits", "ulps"]

# dtype -> (struct float code, struct int code, bits): complex types compare their parts
_FORMATS = {
    "float64": ("<d", "<q", 64),
    "complex128": ("<d", "<q", 64),
    "float32": ("<f", "<i", 32),
    "complex64": ("<f", "<i", 32),
    "float16": ("<e", "<h", 16),
}


def _ordered(value: float, dtype: str) -> int | None:
    if dtype == "bfloat16":  # the top 16 bits of a float32
        bits = int(struct.unpack("<i", struct.pack("<f", value))[0]) >> 16
        width = 16
    elif dtype in _FORMATS:
        fcode, icode, width = _FORMATS[dtype]
        try:
            bits = int(struct.unpack(icode, struct.pack(fcode, value))[0])
        except (OverflowError, struct.error):
            return None
    else:
        return None
    return ordered_bits(bits, width)


def ordered_bits(bits: int, width: int) -> int:
    """The signed bit pattern *bits* of a *width*-bit float mapped to an integer whose order is
    the floats' order, so that the distance of two is their distance in ulps."""
    return -(bits & ((1 << (width - 1)) - 1)) if bits < 0 else bits


def ulps(a: float, b: float, dtype: str) -> int | None:
    """The distance of *a* and *b* in units in the last place of *dtype* (None: not a float)."""
    oa, ob = _ordered(a, dtype), _ordered(b, dtype)
    return None if oa is None or ob is None else abs(oa - ob)


@record
class ProbeComparison(Record):
    """One recorded probe against this machine (or a second capture)."""

    id: str
    status: str
    recorded: ProbeResult
    current: ProbeResult | None = None
    reason: str = ""
    sample_differs: int = 0  # how many sampled values differ
    sample_size: int = 0
    max_ulps: int | None = None
    max_rel: float | None = None
    causes: tuple[str, ...] = ()


def _sample_diff(old: ProbeResult, new: ProbeResult) -> tuple[int, int, int | None, float | None]:
    if old.shape != new.shape or old.dtype != new.dtype or len(old.sample) != len(new.sample):
        return 0, 0, None, None
    differ, worst, rel = 0, 0, 0.0
    for a_hex, b_hex in zip(old.sample, new.sample):
        try:
            a, b = float.fromhex(a_hex), float.fromhex(b_hex)
        except (ValueError, OverflowError):
            return 0, 0, None, None
        if a_hex != b_hex:
            differ += 1
            worst = max(worst, ulps(a, b, old.dtype) or 0)
            if a != 0 and abs(a) != float("inf"):
                rel = max(rel, abs(a - b) / abs(a))
    return differ, len(old.sample), worst, rel


def _missing(probe: ProbeResult, current: Numerics) -> str:
    fw = current.framework(probe.framework)
    if fw is not None and fw.status != "ok":
        why = _redact.text(fw.reason or fw.status, most=200)
        return f"{probe.framework} is not importable here ({why})"
    if fw is None:
        return f"{probe.framework} was not run here"
    if probe.device.startswith("cuda"):
        return "no CUDA device of this class here"
    return "not run here"


def compare_one(probe: ProbeResult, recorded: Numerics, current: Numerics) -> ProbeComparison:
    """The comparison of recorded *probe* with the same probe in *current*."""
    now = current.probe(probe.id)
    if now is None:
        return ProbeComparison(probe.id, "not-measurable", probe, reason=_missing(probe, current))
    if now.error:
        error = _redact.text(now.error, most=200)
        return ProbeComparison(probe.id, "failed", probe, now, reason=error)
    if not now.deterministic:
        return ProbeComparison(
            probe.id, "nondeterministic", probe, now, causes=causes(probe, recorded, current, now)
        )
    if now.sha256 == probe.sha256:
        return ProbeComparison(probe.id, "identical", probe, now)
    differ, size, worst, rel = _sample_diff(probe, now)
    why = causes(probe, recorded, current, now)
    if not probe.deterministic:
        why = ("the recorded run was not deterministic", *why)
    return ProbeComparison(
        probe.id,
        "differs",
        probe,
        now,
        sample_differs=differ,
        sample_size=size,
        max_ulps=worst,
        max_rel=rel,
        causes=why,
    )


def compare(recorded: Numerics, current: Numerics) -> tuple[ProbeComparison, ...]:
    """Every recorded probe that ran there (no error) against *current*, sorted by id."""
    return tuple(
        compare_one(p, recorded, current)
        for p in sorted(recorded.probes, key=lambda p: p.id)
        if not p.error
    )
