"""Element-wise comparison of two tensors given as raw little-endian bytes: how many elements
differ in their bits, by how much (max abs, max rel, max ulps) and where first.

One definition, two implementations: numpy's, vectorised, when numpy imports beside envsnap, else
pure Python (`struct` in blocks, equal blocks skipped by a bytes comparison, the rest through
C-level map/compress; about a microsecond per differing element). Ulps are counted as
`envsnap.numerics.compare.ordered_bits` orders the bit patterns (across zero, both magnitudes
add). Both compute in float64 from the stored values, so they agree to the bit;
tests/repro/test_tensors.py checks it, and checks the ulps against `numerics.compare.ulps`.
The relative difference is against the first run's value (elements where it is 0 are left out);
abs, rel and ulps are over the pairs where both values are finite.
"""

from __future__ import annotations

import math
import struct
from itertools import compress
from operator import and_, ne, sub, truediv

from envsnap._record import Record, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Reader = Callable[[int, int], bytes]  # (offset, size) -> the bytes there

__all__ = [
    "DTYPES",
    "DType",
    "Stats",
    "Unreadable",
    "bytes_reader",
    "compare",
    "numpy_or_none",
    "reader",
    "unravel",
]

_BLOCK = 4096  # elements decoded at once by the pure-Python path (equal blocks skipped)
_CHUNK = 4 << 20  # bytes read and compared at once; numpy works on a whole chunk


class Unreadable(ValueError):
    """The file is not what its name says (truncated, malformed, unsupported): compare bytes."""


@record
class DType(Record):
    """An element type: its size, kind and the `struct` codes that decode it."""

    name: str
    size: int
    kind: str  # float, int, uint, bool, bits (float8: compared by bits only)
    bits: str  # struct code of the signed integer of this size
    value: str = ""  # struct code of the value; "" for bfloat16 (decoded from its bits)
    parts: int = 1  # complex numbers: two floats per element


def _dtypes() -> dict[str, DType]:
    out = {
        "float64": DType("float64", 8, "float", "q", "d"),
        "float32": DType("float32", 4, "float", "i", "f"),
        "float16": DType("float16", 2, "float", "h", "e"),
        "bfloat16": DType("bfloat16", 2, "float", "h"),
        "complex128": DType("complex128", 8, "float", "q", "d", 2),
        "complex64": DType("complex64", 4, "float", "i", "f", 2),
        "float8_e4m3fn": DType("float8_e4m3fn", 1, "bits", "b"),
        "float8_e5m2": DType("float8_e5m2", 1, "bits", "b"),
        "bool": DType("bool", 1, "bool", "b", "B"),
    }
    for size, signed, unsigned in ((8, "q", "Q"), (4, "i", "I"), (2, "h", "H"), (1, "b", "B")):
        out[f"int{size * 8}"] = DType(f"int{size * 8}", size, "int", signed, signed)
        out[f"uint{size * 8}"] = DType(f"uint{size * 8}", size, "uint", signed, unsigned)
    return out


DTYPES = _dtypes()


@record
class Stats(Record):
    """How two tensors of one dtype and element count differ (all None/0 when identical)."""

    differing: int = 0
    max_abs: float | None = None
    max_rel: float | None = None
    max_ulps: int | None = None
    first: int | None = None  # flat index (in storage order) of the first differing element


class _Acc:
    """Running maxima over differing element pairs."""

    def __init__(self) -> None:
        self.differing = 0
        self.first: int | None = None
        self.max_abs: float | None = None
        self.max_rel: float | None = None
        self.max_ulps: int | None = None

    def add(self, count: int, first: int, *, worst: tuple[Any, Any, Any] = (None,) * 3) -> None:
        """*count* more differing elements from flat index *first*, with their (max abs,
        max rel, max ulps), each None when not measured."""
        max_abs, max_rel, max_ulps = worst
        self.differing += count
        if self.first is None or first < self.first:
            self.first = first
        if max_abs is not None:
            self.max_abs = max(self.max_abs or 0.0, float(max_abs))
        if max_rel is not None:
            self.max_rel = max(self.max_rel or 0.0, float(max_rel))
        if max_ulps is not None:
            self.max_ulps = max(self.max_ulps or 0, int(max_ulps))

    def stats(self, parts: int) -> Stats:
        first = None if self.first is None else self.first // parts
        return Stats(self.differing, self.max_abs, self.max_rel, self.max_ulps, first)


def numpy_or_none() -> Any:
    """numpy when it imports beside envsnap, else None (the pure-Python path runs)."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def compare(
    a: Reader,
    b: Reader,
    dtype: DType,
    count: int,
    *,
    at: tuple[int, int] = (0, 0),
    use_numpy: bool | None = None,
) -> Stats:
    """Compare *count* elements of *dtype* that *a* and *b* hold from the byte offsets *at*
    (a `Reader` reads ``(offset, size)``: a file by pread, or bytes); *use_numpy* False forces
    the pure-Python path. At most two chunks are in memory at once."""
    n = count * dtype.parts
    np = numpy_or_none() if use_numpy is not False else None
    if use_numpy and np is None:
        raise RuntimeError("numpy is not importable")
    acc = _Acc()
    size = dtype.size
    pa, pb = at
    for lo in range(0, n * size, _CHUNK):
        hi = min(n * size, lo + _CHUNK)
        da, db = a(pa + lo, hi - lo), b(pb + lo, hi - lo)
        if len(da) != hi - lo or len(db) != hi - lo:
            raise Unreadable("the file ended inside a tensor")
        if da == db:
            continue
        if np is not None:
            _numpy_chunk(np, da, db, dtype, lo // size, acc=acc)
            continue
        step = _BLOCK * size
        for off in range(0, hi - lo, step):
            ba, bb = da[off : off + step], db[off : off + step]
            if ba != bb:
                _pure_block(ba, bb, dtype, (lo + off) // size, acc)
    return acc.stats(dtype.parts)


def reader(fd: int) -> Reader:
    """A `Reader` of the open file *fd* (pread: no shared position, nothing mapped)."""
    import os

    def read(offset: int, size: int) -> bytes:
        parts = []
        while size > 0:
            data = os.pread(fd, size, offset)
            if not data:
                break
            parts.append(data)
            offset += len(data)
            size -= len(data)
        return b"".join(parts) if len(parts) != 1 else parts[0]

    return read


def bytes_reader(data: bytes) -> Reader:
    """A `Reader` of *data* in memory."""
    return lambda offset, size: data[offset : offset + size]


# ---------------------------------------------------------------- pure Python


def _bf16(bits: int) -> float:
    value: float = struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]
    return value


def _pure_block(da: bytes, db: bytes, dt: DType, start: int, acc: _Acc) -> None:
    """Elements *start*.. of two unequal blocks; C-level map/compress where it can."""
    n = len(da) // dt.size
    ia = struct.unpack(f"<{n}{dt.bits}", da)
    ib = struct.unpack(f"<{n}{dt.bits}", db)
    idx = list(compress(range(n), map(ne, ia, ib)))
    if not idx:
        return
    first = start + idx[0]
    if dt.kind not in ("float", "int", "uint"):
        acc.add(len(idx), first)
        return
    sa, sb = [ia[i] for i in idx], [ib[i] for i in idx]
    if dt.value:
        va = struct.unpack(f"<{n}{dt.value}", da)
        vb = struct.unpack(f"<{n}{dt.value}", db)
        fa = list(map(float, (va[i] for i in idx)))
        fb = list(map(float, (vb[i] for i in idx)))
    else:  # bfloat16
        fa, fb = list(map(_bf16, sa)), list(map(_bf16, sb))
    if dt.kind == "float":
        finite = list(map(and_, map(math.isfinite, fa), map(math.isfinite, fb)))
        fa, fb = list(compress(fa, finite)), list(compress(fb, finite))
        sa, sb = list(compress(sa, finite)), list(compress(sb, finite))
    if not fa:
        acc.add(len(idx), first)
        return
    diffs = list(map(abs, map(sub, fa, fb)))
    nonzero = list(map(bool, fa))
    rels = list(map(truediv, compress(diffs, nonzero), map(abs, compress(fa, nonzero))))
    ulps = None
    if dt.kind == "float":
        # same sign: the bit patterns' distance; opposite: both magnitudes (see ordered_bits)
        mask = (1 << (dt.size * 8 - 1)) - 1
        ulps = max(abs(x - y) if (x ^ y) >= 0 else (x & mask) + (y & mask) for x, y in zip(sa, sb))
    acc.add(len(idx), first, worst=(max(diffs), max(rels) if rels else None, ulps))


# ---------------------------------------------------------------- numpy


def _numpy_chunk(np: Any, da: bytes, db: bytes, dt: DType, start: int, *, acc: _Acc) -> None:
    ints = f"<i{dt.size}"
    xa = np.frombuffer(da, dtype=ints)
    xb = np.frombuffer(db, dtype=ints)
    neq = xa != xb
    count = int(np.count_nonzero(neq))
    if not count:
        return
    first = start + int(np.argmax(neq))
    if dt.kind not in ("float", "int", "uint"):
        acc.add(count, first)
        return
    ia, ib = (xa, xb) if count == xa.size else (xa[neq], xb[neq])
    if dt.kind == "float" and not dt.value:  # bfloat16: the high half of a float32
        va = (ia.astype(np.int32) << 16).view(np.float32)
        vb = (ib.astype(np.int32) << 16).view(np.float32)
    else:
        kind = {"float": "f", "int": "i", "uint": "u"}[dt.kind]
        va, vb = ia.view(f"<{kind}{dt.size}"), ib.view(f"<{kind}{dt.size}")
    with np.errstate(all="ignore"):  # NaNs and infinities are measured, never warned about
        worst = _numpy_worst(np, va, vb, dt)
    if worst is None:  # no pair where both values are finite
        acc.add(count, first)
        return
    max_abs, max_rel, keep = worst
    ulps = _numpy_ulps(np, ia, ib, dt, keep) if dt.kind == "float" else None
    acc.add(count, first, worst=(max_abs, max_rel, ulps))


def _numpy_worst(np: Any, va: Any, vb: Any, dt: DType) -> tuple[Any, Any, Any] | None:
    """(max abs, max rel, the pairs measured) over the pairs where both values are finite (rel:
    where *va* is not 0); the pairs are None for all of them, and the whole is None when no
    pair is finite.

    In float64, as the pure path computes, but without a float64 copy of either side (numpy
    casts as it goes) and without gathering the measured pairs: a pair left out is zeroed in
    place. The common case takes one pass for each maximum: when both are finite, every value
    was (a NaN propagates, a difference with an infinity is not finite) and no *va* was 0 (its
    quotient is inf, or NaN for 0/0), so nothing is left out.
    """
    diff = np.subtract(va, vb, dtype=np.float64)
    np.abs(diff, out=diff)
    rel = np.abs(va, dtype=np.float64)
    np.divide(diff, rel, out=rel)
    max_abs, max_rel = diff.max(), rel.max()
    if np.isfinite(max_abs) and np.isfinite(max_rel):
        return max_abs, max_rel, None
    keep = None
    usable = va != 0
    if dt.kind == "float":
        keep = np.isfinite(va) & np.isfinite(vb)
        if not keep.any():
            return None
        np.copyto(diff, 0.0, where=~keep)
        max_abs = diff.max()
        usable &= keep
    if not usable.any():
        return max_abs, None, keep
    np.copyto(rel, 0.0, where=~usable)
    return max_abs, rel.max(), keep


def _numpy_ulps(np: Any, ia: Any, ib: Any, dt: DType, keep: Any = None) -> int:
    """max ulps between the bit patterns of the pairs *keep* selects (None: all): their distance
    when the signs agree (an int64 subtraction: no overflow between equal signs), else the sum
    of both magnitudes (unsigned: no overflow for float64)."""
    cross = (ia ^ ib) < 0
    if keep is not None:
        cross &= keep
    gap = np.subtract(ia, ib, dtype=np.int64)
    crossing = bool(cross.any())
    if keep is not None or crossing:
        np.copyto(gap, 0, where=cross if keep is None else cross | ~keep)
    best = int(max(gap.max(), -gap.min()))
    if crossing:
        mask = (1 << (dt.size * 8 - 1)) - 1
        mags = (ia[cross] & mask).astype(np.uint64) + (ib[cross] & mask).astype(np.uint64)
        best = max(best, int(mags.max()))
    return best


def unravel(index: int, shape: tuple[int, ...], order: str = "C") -> tuple[int, ...]:
    """The multi-index of flat *index* in an array of *shape* stored in *order* (C or F)."""
    if not shape:
        return ()
    dims = shape if order == "C" else shape[::-1]
    out = []
    for dim in reversed(dims):
        out.append(index % dim if dim else 0)
        index //= dim if dim else 1
    out.reverse()
    return tuple(out) if order == "C" else tuple(out[::-1])
