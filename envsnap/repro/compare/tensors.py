"""Element-wise comparison of two tensors given as raw little-endian bytes: how many elements
differ in their bits, by how much (max abs, max rel, max ulps) and where first.

One definition, two implementations: numpy's, vectorised, when numpy imports beside envsnap (a
1 GiB pair in seconds), else pure Python (`struct` in blocks; equal blocks are skipped by a bytes
comparison, so only the regions that differ are decoded element by element). Both compute in
float64 from the stored values, so they agree to the bit; tests/repro/test_tensors.py checks it.
The relative difference is against the first run's value (elements where it is 0 are left out);
abs, rel and ulps are over the pairs where both values are finite.
"""

from __future__ import annotations

import math
import struct

from envsnap._record import Record, record
from envsnap.numerics.compare import ordered_bits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["DTYPES", "DType", "Stats", "Unreadable", "compare", "numpy_or_none", "unravel"]

_BLOCK = 1024  # elements decoded at once by the pure-Python path
_CHUNK = 1 << 20  # bytes compared at once before looking inside
_NP_CHUNK = 1 << 22  # elements per numpy pass: bounded temporaries


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
    a: Any,
    b: Any,
    dtype: DType,
    count: int,
    *,
    at: tuple[int, int] = (0, 0),
    use_numpy: bool | None = None,
) -> Stats:
    """Compare *count* elements of *dtype* stored in the buffers *a* and *b* (bytes or mmap),
    starting at the byte offsets *at*; *use_numpy* False forces the pure-Python path."""
    n = count * dtype.parts
    np = numpy_or_none() if use_numpy is not False else None
    if use_numpy and np is None:
        raise RuntimeError("numpy is not importable")
    acc = _Acc()
    size = dtype.size
    pa, pb = at
    for lo in range(0, n * size, _CHUNK):
        hi = min(n * size, lo + _CHUNK)
        if a[pa + lo : pa + hi] == b[pb + lo : pb + hi]:
            continue
        if np is not None:
            _numpy_chunk(np, (a, pa), (b, pb), dtype, (lo // size, (hi - lo) // size), acc=acc)
        else:
            for start in range(lo // size, hi // size, _BLOCK):
                stop = min(hi // size, start + _BLOCK)
                _pure_block((a, pa), (b, pb), dtype, (start, stop), acc)
    return acc.stats(dtype.parts)


# ---------------------------------------------------------------- pure Python


def _bf16(bits: int) -> float:
    value: float = struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]
    return value


def _pure_block(
    a: tuple[Any, int], b: tuple[Any, int], dt: DType, span: tuple[int, int], acc: _Acc
) -> None:
    start, stop = span
    lo, hi = start * dt.size, stop * dt.size
    da, db = a[0][a[1] + lo : a[1] + hi], b[0][b[1] + lo : b[1] + hi]
    if da == db:
        return
    n = stop - start
    ia = struct.unpack(f"<{n}{dt.bits}", da)
    ib = struct.unpack(f"<{n}{dt.bits}", db)
    decode: Callable[[int], tuple[float, float]] | None = None
    if dt.kind in ("float", "int", "uint"):
        if dt.value:
            va = struct.unpack(f"<{n}{dt.value}", da)
            vb = struct.unpack(f"<{n}{dt.value}", db)

            def decode(i: int) -> tuple[float, float]:
                return float(va[i]), float(vb[i])
        else:  # bfloat16

            def decode(i: int) -> tuple[float, float]:
                return _bf16(ia[i]), _bf16(ib[i])

    count, first = 0, -1
    max_abs: float | None = None
    max_rel: float | None = None
    max_ulps: int | None = None
    width = dt.size * 8
    for i in range(n):
        x, y = ia[i], ib[i]
        if x == y:
            continue
        count += 1
        if first < 0:
            first = start + i
        if decode is None:
            continue
        fa, fb = decode(i)
        if not (math.isfinite(fa) and math.isfinite(fb)):
            continue
        diff = abs(fa - fb)
        max_abs = diff if max_abs is None else max(max_abs, diff)
        if fa != 0:
            rel = diff / abs(fa)
            max_rel = rel if max_rel is None else max(max_rel, rel)
        if dt.kind == "float":
            ulps = abs(ordered_bits(x, width) - ordered_bits(y, width))
            max_ulps = ulps if max_ulps is None else max(max_ulps, ulps)
    if count:
        acc.add(count, first, worst=(max_abs, max_rel, max_ulps))


# ---------------------------------------------------------------- numpy


def _numpy_chunk(
    np: Any, a: tuple[Any, int], b: tuple[Any, int], dt: DType, span: tuple[int, int], *, acc: _Acc
) -> None:
    start, n = span
    for s in range(start, start + n, _NP_CHUNK):
        m = min(_NP_CHUNK, start + n - s)
        ints = f"<i{dt.size}"
        xa = np.frombuffer(a[0], dtype=ints, count=m, offset=a[1] + s * dt.size)
        xb = np.frombuffer(b[0], dtype=ints, count=m, offset=b[1] + s * dt.size)
        neq = xa != xb
        count = int(np.count_nonzero(neq))
        if not count:
            continue
        first = s + int(np.argmax(neq))
        if dt.kind not in ("float", "int", "uint"):
            acc.add(count, first)
            continue
        ia, ib = xa[neq], xb[neq]
        if dt.kind == "float":
            if dt.value:
                floats = f"<f{dt.size}"
                fa = ia.view(floats).astype(np.float64)
                fb = ib.view(floats).astype(np.float64)
            else:  # bfloat16: the high half of a float32
                fa = (ia.astype(np.int32) << 16).view(np.float32).astype(np.float64)
                fb = (ib.astype(np.int32) << 16).view(np.float32).astype(np.float64)
        else:
            kind = "u" if dt.kind == "uint" else "i"
            fa = ia.view(f"<{kind}{dt.size}").astype(np.float64)
            fb = ib.view(f"<{kind}{dt.size}").astype(np.float64)
        finite = np.isfinite(fa) & np.isfinite(fb)
        fa, fb = fa[finite], fb[finite]
        if not fa.size:
            acc.add(count, first)
            continue
        diff = np.abs(fa - fb)
        nonzero = fa != 0
        rel = diff[nonzero] / np.abs(fa[nonzero])
        ulps = _numpy_ulps(np, ia[finite], ib[finite], dt) if dt.kind == "float" else None
        acc.add(count, first, worst=(diff.max(), rel.max() if rel.size else None, ulps))


def _numpy_ulps(np: Any, ia: Any, ib: Any, dt: DType) -> int:
    """max |ordered(a) - ordered(b)| without int64 overflow (opposite signs add magnitudes)."""
    mask = (1 << (dt.size * 8 - 1)) - 1
    oa = ia.astype(np.int64)
    ob = ib.astype(np.int64)
    oa = np.where(oa < 0, -(oa & mask), oa)
    ob = np.where(ob < 0, -(ob & mask), ob)
    same = (oa >= 0) == (ob >= 0)
    best = 0
    if same.any():
        best = int(np.abs(oa[same] - ob[same]).max())
    cross = ~same
    if cross.any():
        mags = np.abs(oa[cross]).astype(np.uint64) + np.abs(ob[cross]).astype(np.uint64)
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
