"""The element-wise comparison: numpy's vectorised path and the pure-Python path give the same
answer to the bit on generated tensors (NaN, infinities, signed zeros, subnormals, sign changes,
chunks that are equal and chunks that are not), and both agree with numpy's own arithmetic."""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

from envsnap.numerics.compare import ulps
from envsnap.repro.compare.tensors import DTYPES, bytes_reader, unravel
from envsnap.repro.compare.tensors import compare as compare_readers


def compare(a: bytes, b: bytes, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return compare_readers(bytes_reader(a), bytes_reader(b), *args, **kwargs)  # type: ignore[arg-type]


ROOT = Path(__file__).resolve().parents[2]
SPECIAL32 = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-45, -1e-45, 3.4e38, 1.0]


def _floats(rng: random.Random, n: int, code: str, special: list[float]) -> tuple[bytes, bytes]:
    """Two float buffers: the second is the first with ulp nudges, sign flips, specials."""
    ints = {"f": "i", "d": "q", "e": "h"}[code]
    values = [rng.gauss(0, 10) for _ in range(n)]
    a = struct.pack(f"<{n}{code}", *values)
    bits = list(struct.unpack(f"<{n}{ints}", a))
    other = list(bits)
    for i in rng.sample(range(n), n // 7):
        other[i] += rng.choice([1, -1, 3, 1000, -70000])
    width = struct.calcsize(ints) * 8
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    other = [min(hi, max(lo, v)) for v in other]
    b = bytearray(struct.pack(f"<{n}{ints}", *other))
    for i in rng.sample(range(n), min(n, 12)):  # specials on either side, sign flips
        value = rng.choice(special)
        where = a if rng.random() < 0.5 else b
        spot = bytearray(where)
        struct.pack_into(f"<{code}", spot, i * struct.calcsize(code), value)
        if where is a:
            a = bytes(spot)
        else:
            b = spot
    return a, bytes(b)


def cases() -> list[tuple[str, int, bytes, bytes]]:
    rng = random.Random(20)
    out = []
    n = 300_000  # float32: past the 1 MiB chunk, so equal and unequal chunks both occur
    a, b = _floats(rng, n, "f", SPECIAL32)
    b = a[: 4 * 200_000] + b[4 * 200_000 :]  # the first 200,000 elements equal
    out.append(("float32", n, a, b))
    out.append(("float64", 5000, *_floats(rng, 5000, "d", [*SPECIAL32, 1e308, 5e-324])))
    out.append(
        ("float16", 4000, *_floats(rng, 4000, "e", [0.0, -0.0, 65504.0, 6e-8, float("inf")]))
    )
    bf = [struct.pack("<f", rng.gauss(0, 3))[2:] for _ in range(4000)]
    bf_b = [x if rng.random() < 0.8 else bytes([x[0] ^ 1, x[1]]) for x in bf]
    out.append(("bfloat16", 4000, b"".join(bf), b"".join(bf_b)))
    ints = [rng.randrange(-(2**31), 2**31) for _ in range(3000)]
    ints_b = [v if rng.random() < 0.9 else rng.randrange(-(2**31), 2**31) for v in ints]
    out.append(("int32", 3000, struct.pack("<3000i", *ints), struct.pack("<3000i", *ints_b)))
    big = [rng.randrange(0, 2**64) for _ in range(2000)]
    big_b = [v if rng.random() < 0.9 else rng.randrange(0, 2**64) for v in big]
    out.append(("uint64", 2000, struct.pack("<2000Q", *big), struct.pack("<2000Q", *big_b)))
    flags = bytes(rng.randrange(2) for _ in range(999))
    out.append(("bool", 999, flags, bytes(f ^ (rng.random() < 0.1) for f in flags)))
    out.append(("complex64", 1000, *_floats(rng, 2000, "f", SPECIAL32)))
    # every element differs (numpy's one-pass path): 1 ulp off, finite and non-zero, across
    # two chunks; then the same with a zero, a NaN, an infinity or a sign change among them
    # (the masked path), float64 bit patterns far apart, and integers with zeros
    ones = [rng.uniform(0.5, 2.0) * rng.choice([1, -1]) for _ in range(1_200_000)]
    base = struct.pack(f"<{len(ones)}f", *ones)
    bumped = struct.pack(f"<{len(ones)}i", *(x + 1 for x in struct.unpack(f"<{len(ones)}i", base)))
    out.append(("float32", len(ones), base, bumped))
    flipped = -struct.unpack_from("<f", base, 4 * 77)[0]
    for spot, in_first in (
        (0.0, True),
        (float("nan"), False),
        (float("inf"), True),
        (flipped, False),
    ):
        first_run, other = bytearray(base[: 4 * 5000]), bytearray(bumped[: 4 * 5000])
        struct.pack_into("<f", first_run if in_first else other, 4 * 77, spot)
        out.append(("float32", 5000, bytes(first_run), bytes(other)))
    wide = [rng.uniform(1e-300, 1e300) for _ in range(3000)]
    out.append(("float64", 3000, struct.pack("<3000d", *wide), struct.pack("<3000d", *wide[::-1])))
    small = [rng.randrange(-50, 50) for _ in range(3000)]
    out.append(
        (
            "int16",
            3000,
            struct.pack("<3000h", *small),
            struct.pack("<3000h", *(v + 1 for v in small)),
        )
    )
    halves = [struct.pack("<f", rng.uniform(1, 4))[2:] for _ in range(3000)]
    nudged = [bytes([h[0] ^ 1, h[1]]) for h in halves]
    out.append(("bfloat16", 3000, b"".join(halves), b"".join(nudged)))
    same = os.urandom(4 * 1000)
    out.append(("float32", 1000, same, same))
    return out


def test_the_pure_path_measures_what_it_should() -> None:
    a = struct.pack("<4f", 1.0, 2.0, -0.0, float("nan"))
    b = struct.pack("<4f", 1.0, 2.0000002, 0.0, float("nan"))
    stats = compare(a, b, DTYPES["float32"], 4, use_numpy=False)
    # -0.0 and 0.0 differ in their bits (0 ulps apart); the NaNs have the same bits
    assert stats.differing == 2 and stats.first == 1 and stats.max_ulps == 1
    assert stats.max_abs == pytest.approx(2.384185791015625e-07)
    assert stats.max_rel == pytest.approx(2.384185791015625e-07 / 2)
    assert compare(a, a, DTYPES["float32"], 4, use_numpy=False).differing == 0
    # opposite signs: the distance is the sum of both magnitudes in ulps
    tiny = struct.pack("<2f", 1e-45, -1e-45)
    assert compare(tiny[:4], tiny[4:], DTYPES["float32"], 1, use_numpy=False).max_ulps == 2


def test_ulps_are_the_numerics_ulps() -> None:
    """The pure path's distance, one pair at a time, is `numerics.compare.ulps` (the battery's)."""
    rng = random.Random(3)
    for _ in range(2000):
        x, y = (
            struct.unpack("<f", struct.pack("<i", rng.randrange(-(2**31), 2**31)))[0]
            for _ in range(2)
        )
        if x != x or y != y or abs(x) == float("inf") or abs(y) == float("inf"):
            continue
        a, b = struct.pack("<f", x), struct.pack("<f", y)
        if a == b:
            continue
        got = compare(a, b, DTYPES["float32"], 1, use_numpy=False).max_ulps
        assert got == ulps(x, y, "float32"), (x, y)


def test_unravel_in_both_orders() -> None:
    assert unravel(5, (2, 3)) == (1, 2)
    assert unravel(5, (2, 3), "F") == (1, 2)
    assert unravel(1, (2, 3), "F") == (1, 0)
    assert unravel(0, ()) == ()


SCRIPT = """
import json, sys
from pathlib import Path
import numpy as np
from envsnap.repro.compare.tensors import DTYPES, bytes_reader, compare, unravel
out = []
for case in json.loads(sys.argv[1]):
    a, b = Path(case["a"]).read_bytes(), Path(case["b"]).read_bytes()
    s = compare(bytes_reader(a), bytes_reader(b), DTYPES[case["dtype"]], case["count"],
                use_numpy=True)
    out.append([s.differing, s.max_abs, s.max_rel, s.max_ulps, s.first])
shapes = [((3, 4, 5), 37), ((7,), 6), ((2, 9), 17)]
ravel = [[list(unravel(i, s, o)), [int(x) for x in np.unravel_index(i, s, order=o)]]
         for s, i in shapes for o in "CF"]
print(json.dumps({"stats": out, "unravel": ravel}))
"""


@pytest.mark.slow
def test_numpy_and_pure_python_agree_to_the_bit(numpy_python: Path, tmp_path: Path) -> None:
    specs = []
    expected = []
    for i, (dtype, count, a, b) in enumerate(cases()):
        (tmp_path / f"{i}.a").write_bytes(a)
        (tmp_path / f"{i}.b").write_bytes(b)
        specs.append(
            {
                "a": str(tmp_path / f"{i}.a"),
                "b": str(tmp_path / f"{i}.b"),
                "dtype": dtype,
                "count": count,
            }
        )
        s = compare(a, b, DTYPES[dtype], count, use_numpy=False)
        expected.append([s.differing, s.max_abs, s.max_rel, s.max_ulps, s.first])
    done = subprocess.run(
        [str(numpy_python), "-c", SCRIPT, json.dumps(specs)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["stats"] == expected
    assert all(mine == numpy for mine, numpy in answer["unravel"])
    # the cases exercise what they claim: differences found, none where equal
    assert all(e[0] > 0 for e in expected[:-1]) and expected[-1] == [0, None, None, None, None]
    assert expected[0][4] >= 200_000  # the equal first chunk was skipped, not miscounted
