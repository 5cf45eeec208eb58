"""Bench section 10: `envsnap repro`: what it adds beyond the runs of the job, and comparing a
1 GiB safetensors pair.

Overhead: a job that sleeps 1 s and writes a 64 MiB safetensors file and metrics.json in a
project folder of 200 source files, run twice directly against `envsnap repro` (two runs in
scratch copies, the comparison, the verdict); the difference is what repro adds (target: under
5% of a 10 s job, 0.5 s). The comparison: two 1 GiB safetensors files of 16 float32 tensors,
identical, and with one 64 MiB tensor differing in every element by one ulp (the worst case for
the element-wise pass), compared in-process by envsnap's pure-Python path and by numpy's (in
section 7's numerics venv) (target: under 3 s). Peak RSS shows the memory stays bounded (the
files are read in chunks).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
from pathlib import Path

from core import ROOT, Bench, Cmd, compare, verdict
from measure import measure
from report import fmt_ms, fmt_rss

__all__ = ["section_repro"]

SEC = "10 repro"
JOB_S = 10.0  # issue 21, target 4: what repro adds, as a share of a job this long
OVERHEAD_TARGET_S = 0.05 * JOB_S
COMPARE_TARGET_S = 3.0
SLEEP_S = 1.0
JOB = f"""
import json, os, random, struct, time
os.chdir(os.path.dirname(os.path.abspath(__file__)))
time.sleep({SLEEP_S})
data = random.Random(0).randbytes(64 << 20)
w = {{"dtype": "F32", "shape": [16 << 20], "data_offsets": [0, 64 << 20]}}
header = json.dumps({{"w": w}}).encode()
with open("model.safetensors", "wb") as fh:
    fh.write(struct.pack("<Q", len(header)) + header + data)
json.dump({{"loss": 0.25}}, open("metrics.json", "w"))
"""
COMPARE = """
import sys, time
from pathlib import Path
from envsnap.repro.compare import compare_output
a, b, scratch = map(Path, sys.argv[1:4])
start = time.perf_counter()
out = compare_output("m.safetensors", [a, b], scratch=scratch)
print(time.perf_counter() - start, out.identical, len(out.differing_tensors))
"""
TENSORS = 16
TENSOR_BYTES = 64 << 20


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    for i in range(200):
        (root / "src" / f"mod{i}.py").write_text("# code\n" * 1000)
    (root / "job.py").write_text(JOB)
    return root


def _overhead(bench: Bench) -> None:
    direct = _project(bench.work / "repro-direct")
    tree = _project(bench.work / "repro-tree")
    py = sys.executable
    cmds = {
        "job alone, 2 runs": Cmd(
            [
                py,
                "-c",
                "import subprocess, sys; [subprocess.run([sys.argv[1], sys.argv[2]], "
                "check=True) for _ in range(2)]",
                py,
                str(direct / "job.py"),
            ]
        ),
        "envsnap repro (2 runs)": Cmd(
            [
                *bench.envsnap,
                "repro",
                "-q",
                "--no-record",
                "--workdir",
                str(tree),
                "--",
                py,
                "job.py",
            ]
        ),
    }
    result = compare(bench, cmds)
    if isinstance(result, str):
        bench.report.unavailable(SEC, "repro overhead", result)
        bench.report.target("4", "repro: added to a 10 s job", "-", "< 5%", False, result)
        return
    for name, stats in result.items():
        bench.report.add_stats(SEC, name, stats)
    added = result["envsnap repro (2 runs)"].median_s - result["job alone, 2 runs"].median_s
    cpu = result["envsnap repro (2 runs)"].cpu_s - result["job alone, 2 runs"].cpu_s
    share = added / JOB_S
    bench.report.add(
        SEC,
        "added by repro (copies, state, 2 x 64 MiB compared)",
        fmt_ms(added),
        cpu=fmt_ms(cpu),
        target=f"< {OVERHEAD_TARGET_S:g} s (5% of 10 s)",
        result=f"{share:.1%} of a {JOB_S:g} s job " + verdict(added < OVERHEAD_TARGET_S),
    )
    bench.report.put("repro", "overhead_s", added)
    bench.report.put("repro", "overhead_cpu_s", cpu)
    bench.report.put("repro", "overhead_share", round(share, 4))
    bench.report.target(
        "4",
        "repro: added beyond the runs, per 10 s job",
        f"{share:.1%} ({fmt_ms(added)} wall, {fmt_ms(cpu)} CPU)",
        "< 5%",
        added < OVERHEAD_TARGET_S,
    )


def _pair(root: Path) -> tuple[Path, Path, Path]:
    """1 GiB safetensors: a, an identical copy, and one whose first tensor is 1 ulp off."""
    header = json.dumps(
        {
            f"layer{i}": {
                "dtype": "F32",
                "shape": [TENSOR_BYTES // 4],
                "data_offsets": [i * TENSOR_BYTES, (i + 1) * TENSOR_BYTES],
            }
            for i in range(TENSORS)
        }
    ).encode()
    a, same, off = root / "a.safetensors", root / "same.safetensors", root / "off.safetensors"
    flip = bytes(x ^ 1 for x in range(256))
    with open(a, "wb") as fa, open(off, "wb") as fo:
        for fh in (fa, fo):
            fh.write(struct.pack("<Q", len(header)) + header)
        for i in range(TENSORS):
            block = os.urandom(TENSOR_BYTES)
            fa.write(block)
            if i == 0:  # the lowest byte of every float32 (little-endian): one ulp away
                changed = bytearray(block)
                changed[0::4] = changed[0::4].translate(flip)
                block = bytes(changed)
            fo.write(block)
    shutil.copyfile(a, same)
    return a, same, off


def _numpy_python(bench: Bench) -> str | None:
    """The numerics venv of section 7 (numpy, torch), built once under the bench home."""
    from sections_numerics import ensure_numerics_env

    python = ensure_numerics_env(bench.home)
    return None if isinstance(python, str) else str(python)


def _comparison(bench: Bench) -> None:
    root = bench.work / "repro-1gib"
    root.mkdir()
    a, same, off = _pair(root)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pythons = {"pure Python": bench.dev_python}
    numpy_py = _numpy_python(bench)
    if numpy_py:
        pythons["numpy"] = numpy_py
    for how, python in pythons.items():
        for case, other in (("identical", same), ("1 of 16 tensors 1 ulp off", off)):
            times, rss = [], []
            for _ in range(max(1, min(bench.runs, 3))):
                sample = measure(
                    [python, "-c", COMPARE, str(a), str(other), str(root / "scratch")], env=env
                )
                if sample.returncode != 0:
                    bench.report.unavailable(SEC, f"1 GiB compare ({how})", sample.stderr[-200:])
                    break
                times.append(float(sample.stdout.split()[0]))
                rss.append(sample.maxrss_kib)
            if not times:
                continue
            median = sorted(times)[len(times) // 2]
            bench.report.add(
                SEC,
                f"1 GiB safetensors pair, {case} ({how})",
                fmt_ms(median),
                rss=fmt_rss(sorted(rss)[len(rss) // 2]),
                target=f"< {COMPARE_TARGET_S:g} s",
                result=verdict(median < COMPARE_TARGET_S),
            )
            key = f"compare_1gib_{case.split()[0]}_{how.split()[0].lower()}_s"
            bench.report.put("repro", key, median)
    if not numpy_py:
        bench.report.skipped(SEC, "1 GiB compare (numpy)", "the numerics venv could not be built")
    shutil.rmtree(root, ignore_errors=True)


def section_repro(bench: Bench, *, compare_1gib: bool = True) -> None:
    """Measure what repro adds to the runs (target 4), and (a minute more) a 1 GiB comparison."""
    _overhead(bench)
    if compare_1gib:
        _comparison(bench)
    else:
        bench.report.skipped(SEC, "1 GiB safetensors comparisons", "pass --full")
