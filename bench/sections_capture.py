"""Bench sections 1-3: the reference environment, capture vs pip freeze, growth to 500."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import refenv
from core import Bench, Cmd, capture_cmd, compare, run_once, verdict
from measure import Sample, Stats, failure_line
from report import fmt_ms, fmt_rss

__all__ = ["section_capture", "section_growth", "section_reference"]


def section_reference(bench: Bench) -> Path:
    """Section 1: build (or reuse) the reference environment and count its distributions."""
    venv, built_s = refenv.ensure_reference_env(bench.home)
    count = refenv.distribution_count(venv)
    how = f"built in {built_s:.0f} s" if built_s else f"cached in {bench.home}"
    bench.report.add("1 reference env", "installed distributions", f"{count} dists", result=how)
    bench.report.put("reference", "distributions", count)
    bench.report.put("reference", "build_s", round(built_s, 1))
    return venv


def _fill_cache(bench: Bench, ref_py: Path) -> Sample | str:
    """Run one non-offline capture to fill the hash cache; return it, or why it could not."""
    shutil.rmtree(bench.home / "cache-warm", ignore_errors=True)
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
        return f"{len(summary['unhashed'])} unhashed"
    except (ValueError, TypeError, KeyError):
        return ""


def section_capture(bench: Bench, ref: Path) -> None:
    """Section 2: capture --offline and warm-cache capture against pip freeze."""
    sec = "2 capture vs freeze"
    ref_py = refenv.bin_python(ref)
    shutil.rmtree(bench.home / "cache-offline", ignore_errors=True)
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
    bench.report.add_stats(sec, freeze_label, freeze)
    bench.report.put("capture", "pip_freeze_s", freeze.median_s)
    bench.report.put("capture", "pip_freeze_cpu_s", freeze.cpu_s)
    bench.report.put("capture", "pip_freeze_rss_kib", freeze.rss_kib)
    if probe.returncode != 0:
        bench.report.unavailable(sec, "capture --offline", failure_line(probe))
    for name, stats in result.items():
        ratio = stats.median_s / freeze.median_s
        cpu_ratio = stats.cpu_s / freeze.cpu_s
        rss_ratio = stats.rss_kib / freeze.rss_kib
        note = _unhashed_note(probe if "offline" in name else filled)
        bench.report.add_stats(
            sec,
            f"{name} ({note})" if note else name,
            stats,
            target="<=0.25x wall, <=1x RSS",
            result=f"{ratio:.2f}x wall ({cpu_ratio:.2f}x CPU), {rss_ratio:.2f}x RSS "
            + verdict(ratio <= 0.25 and rss_ratio <= 1.0),
        )
        key = "offline" if "offline" in name else "warm"
        bench.report.put("capture", f"{key}_s", stats.median_s)
        bench.report.put("capture", f"{key}_cpu_s", stats.cpu_s)
        bench.report.put("capture", f"{key}_rss_kib", stats.rss_kib)
        bench.report.put("capture", f"{key}_ratio", round(ratio, 3))
        bench.report.put("capture", f"{key}_cpu_ratio", round(cpu_ratio, 3))
    if isinstance(filled, Sample):
        bench.report.add(
            sec,
            "capture, cold hash cache (1 run, info)",
            fmt_ms(filled.wall_s),
            cpu=fmt_ms(filled.cpu_s),
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
        venv = refenv.ensure_generated_env(bench.home, size)
        py = refenv.bin_python(venv)
        dists = refenv.distribution_count(venv)
        out = bench.work / f"cap-gen{size}"
        result = compare(
            bench,
            {
                "freeze": Cmd([str(py), "-m", "pip", "freeze"]),
                "capture": capture_cmd(bench, py, out, offline=True, cache="offline"),
            },
        )
        if isinstance(result, str):
            bench.report.unavailable(sec, f"capture --offline, {dists} dists", result)
            return
        cap, freeze = result["capture"], result["freeze"]
        points.append((dists, cap, freeze))
        bench.report.add_stats(sec, f"pip freeze, {dists} dists", freeze)
        bench.report.add_stats(
            sec,
            f"capture --offline, {dists} dists",
            cap,
            result=f"{cap.median_s / freeze.median_s:.2f}x wall, "
            f"{cap.cpu_s / freeze.cpu_s:.2f}x CPU of pip freeze",
        )
        for key, stats in (("capture", cap), ("freeze", freeze)):
            bench.report.put("growth", f"{key}_{dists}_s", stats.median_s)
            bench.report.put("growth", f"{key}_{dists}_cpu_s", stats.cpu_s)
    if len(points) >= 2:
        _linear_fit(bench, points)


def _linear_fit(bench: Bench, points: list[tuple[int, Stats, Stats]]) -> None:
    """Per-distribution cost from the smallest and largest size; other sizes test the line."""
    sec = "3 growth"
    (n0, c0, f0), (n1, c1, f1) = points[0], points[-1]
    slope_wall = (c1.median_s - c0.median_s) / (n1 - n0)
    slope_cpu = (c1.cpu_s - c0.cpu_s) / (n1 - n0)
    freeze_cpu = (f1.cpu_s - f0.cpu_s) / (n1 - n0)
    fixed_cpu = c0.cpu_s - slope_cpu * n0
    bench.report.add(
        sec,
        "capture cost per distribution",
        f"{slope_wall * 1000:.2f} ms wall",
        cpu=f"{slope_cpu * 1000:.2f} ms",
        result=f"fixed {fmt_ms(fixed_cpu)} CPU; pip freeze {freeze_cpu * 1000:.2f} ms CPU/dist",
    )
    bench.report.put("growth", "capture_per_dist_ms", slope_wall * 1000)
    bench.report.put("growth", "capture_per_dist_cpu_ms", slope_cpu * 1000)
    bench.report.put("growth", "capture_fixed_cpu_s", fixed_cpu)
    bench.report.put("growth", "freeze_per_dist_cpu_ms", freeze_cpu * 1000)
    for n, c, _f in points[1:-1]:
        predicted = fixed_cpu + slope_cpu * n
        off = (c.cpu_s - predicted) / predicted
        bench.report.add(
            sec,
            f"linearity at {n} dists (CPU time)",
            f"{fmt_ms(c.cpu_s)} measured",
            target=f"on the {n0}-{n1} line",
            result=f"line predicts {fmt_ms(predicted)} ({off:+.0%})",
        )
        bench.report.put("growth", f"linearity_{n}_cpu_deviation", round(off, 3))
