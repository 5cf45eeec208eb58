"""One pass over two runs' files: both sha256 digests and the byte ranges where they differ.

The digests are what repro.toml records; the ranges let the tensor comparison skip every tensor
whose bytes lie in an equal range without reading it again. While the files agree, the second
file's digest is the first's (the hash state is copied at the first difference), so a pair of
identical files costs one hash and one comparison; once they differ, both are hashed at once (on
two threads: hashlib releases the GIL).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from envsnap._record import Record, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from io import FileIO
    from pathlib import Path

__all__ = ["Scan", "scan"]

CHUNK = 16 << 20


@record
class Scan(Record):
    """The two digests, and the ranges that differ (None when the sizes differ: the files'
    layouts are not comparable byte for byte)."""

    first: str
    other: str
    ranges: tuple[tuple[int, int], ...] | None

    def equal_between(self, start: int, end: int) -> bool:
        """True when bytes *start*..*end* are known equal in both files."""
        if self.ranges is None:
            return False
        return not any(lo < end and start < hi for lo, hi in self.ranges)


def _fill(fh: FileIO, buf: bytearray) -> int:
    view, got = memoryview(buf), 0
    while got < len(buf):
        n = fh.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def scan(a: Path, b: Path, *, first: str = "") -> Scan:
    """Read *a* and *b* once; *first*, when given, is *a*'s digest already (not hashed again)."""
    ha = None if first else hashlib.sha256()
    hb = hashlib.sha256() if first else None
    ba, bb = bytearray(CHUNK), bytearray(CHUNK)
    ranges: list[tuple[int, int]] = []
    offset = 0
    pool = ThreadPoolExecutor(max_workers=1)  # hashes a beside b once both are hashed
    with pool, open(a, "rb", buffering=0) as fa, open(b, "rb", buffering=0) as fb:
        while True:
            na, nb = _fill(fa, ba), _fill(fb, bb)
            if not na and not nb:
                break
            full = na == nb == CHUNK
            same = ba == bb if full else na == nb and ba[:na] == bb[:nb]
            if not same and hb is None and ha is not None:
                hb = ha.copy()  # b agreed with a up to here
            pending = None
            if ha is not None and hb is not None:
                pending = pool.submit(ha.update, memoryview(ba)[:na])
            elif ha is not None:
                ha.update(memoryview(ba)[:na])
            if hb is not None:
                hb.update(memoryview(bb)[:nb])
            if pending is not None:
                pending.result()
            if not same:
                end = offset + max(na, nb)
                if ranges and ranges[-1][1] == offset:
                    ranges[-1] = (ranges[-1][0], end)
                else:
                    ranges.append((offset, end))
            offset += max(na, nb)
    digest_a = first or (ha.hexdigest() if ha is not None else "")
    digest_b = hb.hexdigest() if hb is not None else digest_a
    sizes_equal = a.stat().st_size == b.stat().st_size
    return Scan(digest_a, digest_b, tuple(ranges) if sizes_equal else None)
