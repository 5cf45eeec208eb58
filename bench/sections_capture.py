"""Bench sections 1-3: the reference environment, capture vs pip freeze, growth to 500."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import refenv
from core import ROOT, Bench, Cmd, capture_cmd, compare, run_once, verdict
from measure import Sample, Stats, failure_line
from report import fmt_ms, fmt_rss, fmt_stats

__all__ = ["section_capture", "section_growth", "section_reference"]


def section_reference(bench: Bench) -> Path:
    """Section 1: build (or reuse) the reference environment and count its distributions."""
    venv, built_s = refenv.ensure_reference_env(ROOT / ".bench")
    count = refenv.distribution_count(venv)
    how = f"built in {built_s:.0f} s" if built_s else "cached in .bench/"
    bench.report.add("1 reference env", "installed distributions", f"{count} dists", result=how)
    bench.report.put("reference", "distributions", count)
    bench.report.put("reference", "build_s", round(built_s, 1))
    return venv


def _fill_cache(bench: Bench, ref_py: Path) -> Sample | str:
    """Run one non-offline capture to fill the hash cache; return it, or why it could not."""
    shutil.rmtree(ROOT / ".bench" / "cache-warm", ignore_errors=True)
    reason = refenv.pip_index_unreachable()
    if reason:
        return reason
    out = bench.work / "cap-online"
    cmd = capture_cmd(bench, ref_py, out, offline=False, cache="warm")
    sample = run_once(Cmd([*cmd.argv, "--json"], env=cmd.env))
    if sample.returncode != 0:
        return f"first capture failed: {failure_line(sample)}"
    bench.captures["ref-hashed"] = out
    return sample


def _unhashed_note(sample: Sample | str) -> str:
    if isinstance(sample, str):
        return ""
    try:
        summary = json.loads(sample.stdout)
        return f"{len(summary['unhashed'])} unhashed of {summary['packages']}"
    except (ValueError, TypeError, KeyError):
        return ""


def section_capture(bench: Bench, ref: Path) -> None:
    """Section 2: capture --offline and warm-cache capture against pip freeze."""
    sec = "2 capture vs freeze"
    ref_py = refenv.bin_python(ref)
    shutil.rmtree(ROOT / ".bench" / "cache-offline", ignore_errors=True)
    pip_version = run_once(Cmd([str(ref_py), "-m", "pip", "--version"])).stdout.split()[1:2]
    freeze_label = f"pip freeze (pip {''.join(pip_version)})"
    cmds = {freeze_label: Cmd([str(ref_py), "-m", "pip", "freeze"])}
    offline = capture_cmd(bench, ref_py, bench.work / "cap-offline", offline=True, cache="offline")
    probe = run_once(Cmd([*offline.argv, "--json"], env=offline.env))
    if probe.returncode == 0:
        cmds["capture --offline"] = offline
        bench.captures["ref-offline"] = bench.work / "cap-offline"
    filled = _fill_cache(bench, ref_py)
    if isinstance(filled, Sample):
        cmds["capture, warm hash cache"] = capture_cmd(
            bench, ref_py, bench.work / "cap-warm", offline=False, cache="warm"
        )
    result = compare(bench, cmds)
    if isinstance(result, str):
        bench.report.unavailable(sec, "capture vs pip freeze", result)
        return
    freeze = result.pop(freeze_label)
    bench.report.add(sec, freeze_label, fmt_stats(freeze), rss=fmt_rss(freeze.rss_kib))
    bench.report.put("capture", "pip_freeze_s", freeze.median_s)
    bench.report.put("capture", "pip_freeze_rss_kib", freeze.rss_kib)
    if probe.returncode != 0:
        bench.report.unavailable(sec, "capture --offline", failure_line(probe))
    for name, stats in result.items():
        ratio = stats.median_s / freeze.median_s
        rss_ratio = stats.rss_kib / freeze.rss_kib
        note = _unhashed_note(probe if "offline" in name else filled)
        bench.report.add(
            sec,
            f"{name} ({note})" if note else name,
            fmt_stats(stats),
            rss=fmt_rss(stats.rss_kib),
            target="<=0.25x time, <=1x RSS",
            result=f"{ratio:.2f}x, RSS {rss_ratio:.2f}x "
            + verdict(ratio <= 0.25 and rss_ratio <= 1.0),
        )
        key = "offline" if "offline" in name else "warm"
        bench.report.put("capture", f"{key}_s", stats.median_s)
        bench.report.put("capture", f"{key}_rss_kib", stats.rss_kib)
        bench.report.put("capture", f"{key}_ratio", round(ratio, 3))
    if isinstance(filled, Sample):
        bench.report.add(
            sec,
            "capture, cold hash cache (1 run, info)",
            fmt_ms(filled.wall_s),
            rss=fmt_rss(filled.maxrss_kib),
        )
        bench.report.put("capture", "cold_cache_s", filled.wall_s)
    else:
        bench.report.skipped(sec, "capture, warm hash cache", filled)


def section_growth(bench: Bench, sizes: Sequence[int]) -> None:
    """Section 3: capture --offline and pip freeze on generated site-packages of each size."""
    sec = "3 growth"
    points: list[tuple[int, Stats, Stats]] = []
    for size in sizes:
        venv = refenv.ensure_generated_env(ROOT / ".bench", size)
        py = refenv.bin_python(venv)
        dists = refenv.distribution_count(venv)
        result = compare(
            bench,
            {
                "freeze": Cmd([str(py), "-m", "pip", "freeze"]),
                "capture": capture_cmd(
                    bench, py, bench.work / f"cap-gen{size}", offline=True, cache="offline"
                ),
            },
        )
        if isinstance(result, str):
            bench.report.unavailable(sec, f"capture --offline, {dists} dists", result)
            return
        cap, freeze = result["capture"], result["freeze"]
        points.append((dists, cap, freeze))
        bench.report.add(
            sec,
            f"capture --offline, {dists} dists",
            fmt_stats(cap),
            rss=fmt_rss(cap.rss_kib),
            result=f"pip freeze {fmt_ms(freeze.median_s)} ({cap.median_s / freeze.median_s:.2f}x)",
        )
        bench.report.put("growth", f"capture_{dists}_s", cap.median_s)
        bench.report.put("growth", f"freeze_{dists}_s", freeze.median_s)
    if len(points) < 2:
        return
    (n0, c0, f0), (n1, c1, f1) = points[0], points[-1]
    per_cap = (c1.median_s - c0.median_s) / (n1 - n0)
    per_freeze = (f1.median_s - f0.median_s) / (n1 - n0)
    fixed = c0.median_s - per_cap * n0
    bench.report.add(
        sec,
        "capture cost per distribution",
        f"{per_cap * 1000:.2f} ms",
        result=f"fixed {fmt_ms(fixed)}; pip freeze {per_freeze * 1000:.2f} ms/dist",
    )
    bench.report.put("growth", "capture_per_dist_ms", per_cap * 1000)
    bench.report.put("growth", "capture_fixed_s", fixed)
    bench.report.put("growth", "freeze_per_dist_ms", per_freeze * 1000)
    for n, c, _f in points[1:-1]:
        predicted = fixed + per_cap * n
        off = (c.median_s - predicted) / predicted
        bench.report.add(
            sec,
            f"linearity at {n} dists",
            f"{fmt_ms(c.median_s)} measured",
            target="on the 40-500 line",
            result=f"line predicts {fmt_ms(predicted)} ({off:+.0%})",
        )
        bench.report.put("growth", f"linearity_{n}_deviation", round(off, 3))
