"""Bench sections 1-3: the reference environment, capture vs pip freeze, growth to 500."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import refenv
from core import Bench, Cmd, capture_cmd, compare, run_once, verdict
from measure import Sample, Stats, failure_line
from report import fmt_ms, fmt_rss

__all__ = ["fill_cache", "section_capture", "section_growth", "section_reference"]


def section_reference(bench: Bench) -> Path:
    """Section 1: build (or reuse) the reference environment and count its distributions."""
    venv, built_s = refenv.ensure_reference_env(bench.home)
    count = refenv.distribution_count(venv)
    how = f"built in {built_s:.0f} s" if built_s else f"cached in {bench.home}"
    bench.report.add("1 reference env", "installed distributions", f"{count} dists", result=how)
    bench.report.put("reference", "distributions", count)
    bench.report.put("reference", "build_s", round(built_s, 1))
    return venv


def fill_cache(bench: Bench, ref_py: Path) -> Sample | str:
    """Run one non-offline capture to fill the hash cache (the capture with hashes that the
    rebuild section builds, in ``bench.captures["ref-hashed"]``); return it, or why not."""
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


def uv_command() -> list[str] | None:
    """`uv` beside the bench's interpreter (the dev venv has it), else on PATH; None: absent."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    return [found] if found else None


def _uv_env(bench: Bench) -> dict[str, str]:
    """uv with a cache of its own in the bench home (warm after the warm-up run), as a user's
    repeated `uv pip freeze` finds its interpreter facts cached."""
    return {**os.environ, "UV_CACHE_DIR": str(bench.home / "uv-cache")}


def _ratios(stats: Stats, base: Stats) -> tuple[float, float]:
    return stats.median_s / base.median_s, stats.cpu_s / base.cpu_s


def _commands(bench: Bench, ref_py: Path) -> tuple[dict[str, Cmd], Sample, Sample | str]:
    """The commands of section 2; the probe run of capture --offline; the cache fill (or why
    it could not run)."""
    pip_version = run_once(Cmd([str(ref_py), "-m", "pip", "--version"])).stdout.split()[1:2]
    cmds = {f"pip freeze (pip {''.join(pip_version)})": Cmd([str(ref_py), "-m", "pip", "freeze"])}
    uv = uv_command()
    if uv:
        cmds["uv pip freeze"] = Cmd([*uv, "pip", "freeze", "--python", str(ref_py)], _uv_env(bench))
    offline = capture_cmd(bench, ref_py, bench.work / "cap-offline", offline=True, cache="offline")
    probe = run_once(Cmd([*offline.argv, "--json"], env=offline.env))
    if probe.returncode == 0:
        cmds["capture --offline"] = offline
        bench.captures["ref-offline"] = bench.work / "cap-offline"
    filled = fill_cache(bench, ref_py)
    if isinstance(filled, Sample):
        cmds["capture, warm hash cache"] = capture_cmd(
            bench, ref_py, bench.work / "cap-warm", offline=False, cache="warm"
        )
    return cmds, probe, filled


def section_capture(bench: Bench, ref: Path) -> None:
    """Section 2: capture --offline against uv pip freeze and pip freeze (target 1)."""
    sec = "2 capture vs freeze"
    shutil.rmtree(bench.home / "cache-offline", ignore_errors=True)
    cmds, probe, filled = _commands(bench, refenv.bin_python(ref))
    result = compare(bench, cmds)
    if isinstance(result, str):
        bench.report.unavailable(sec, "capture vs freeze", result)
        bench.report.target("1", "capture --offline / pip freeze", "-", "<= 0.2x", False, result)
        return
    freeze_label = next(iter(cmds))
    freeze = result.pop(freeze_label)
    uv_stats = result.pop("uv pip freeze", None)
    bench.report.add_stats(sec, freeze_label, freeze)
    for key, value in (
        ("s", freeze.median_s),
        ("cpu_s", freeze.cpu_s),
        ("rss_kib", freeze.rss_kib),
    ):
        bench.report.put("capture", f"pip_freeze_{key}", value)
    if uv_stats is not None:
        bench.report.add_stats(sec, "uv pip freeze", uv_stats)
        bench.report.put("capture", "uv_freeze_s", uv_stats.median_s)
        bench.report.put("capture", "uv_freeze_cpu_s", uv_stats.cpu_s)
    else:
        bench.report.skipped(sec, "uv pip freeze", "no uv beside the bench's python nor on PATH")
    if probe.returncode != 0:
        bench.report.unavailable(sec, "capture --offline", failure_line(probe))
    for name, stats in result.items():
        run = probe if "offline" in name else filled
        _capture_row(bench, name, stats, freeze=freeze, uv=uv_stats, run=run)
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


def _capture_row(
    bench: Bench, name: str, stats: Stats, *, freeze: Stats, uv: Stats | None, run: Sample | str
) -> None:
    """One capture's row against pip freeze and uv; target 1's verdicts for --offline."""
    wall, cpu = _ratios(stats, freeze)
    vs_uv = ""
    if uv is not None:
        uv_wall, uv_cpu = _ratios(stats, uv)
        vs_uv = f"; {uv_wall:.2f}x wall, {uv_cpu:.2f}x CPU of uv"
    note = _unhashed_note(run)
    offline = "offline" in name
    bench.report.add_stats(
        "2 capture vs freeze",
        f"{name} ({note})" if note else name,
        stats,
        target="<=0.2x pip, <=2.5x uv" if offline else "(info)",
        result=f"{wall:.2f}x wall, {cpu:.2f}x CPU, {stats.rss_kib / freeze.rss_kib:.2f}x RSS "
        f"of pip{vs_uv}",
    )
    key = "offline" if offline else "warm"
    for what, value in (("s", stats.median_s), ("cpu_s", stats.cpu_s), ("rss_kib", stats.rss_kib)):
        bench.report.put("capture", f"{key}_{what}", value)
    bench.report.put("capture", f"{key}_ratio", round(wall, 3))
    bench.report.put("capture", f"{key}_cpu_ratio", round(cpu, 3))
    if not offline:
        return
    bench.report.target(
        "1",
        "capture --offline / pip freeze (reference env)",
        f"{wall:.2f}x wall, {cpu:.2f}x CPU",
        "<= 0.2x",
        wall <= 0.2 and cpu <= 0.2,
    )
    if uv is None:
        bench.report.target("1", "capture --offline / uv pip freeze", "-", "<= 2.5x", None, "no uv")
        return
    uv_wall, uv_cpu = _ratios(stats, uv)
    bench.report.put("capture", "offline_uv_ratio", round(uv_wall, 3))
    bench.report.put("capture", "offline_uv_cpu_ratio", round(uv_cpu, 3))
    bench.report.target(
        "1",
        "capture --offline / uv pip freeze (reference env)",
        f"{uv_wall:.2f}x wall, {uv_cpu:.2f}x CPU",
        "<= 2.5x",
        uv_wall <= 2.5 and uv_cpu <= 2.5,
    )


def section_growth(bench: Bench, sizes: Sequence[int]) -> None:
    """Section 3: capture --offline, uv pip freeze and pip freeze on generated site-packages of
    each size (real dist-info trees, `gen_site.py`): the cost must grow linearly."""
    sec = "3 growth"
    points: list[tuple[int, Stats]] = []
    uv = uv_command()
    for size in sizes:
        venv = refenv.ensure_generated_env(bench.home, size)
        py = refenv.bin_python(venv)
        dists = refenv.distribution_count(venv)
        cmds = {
            "pip": Cmd([str(py), "-m", "pip", "freeze"]),
            "capture": capture_cmd(
                bench, py, bench.work / f"cap-gen{size}", offline=True, cache="offline"
            ),
        }
        if uv:
            cmds["uv"] = Cmd([*uv, "pip", "freeze", "--python", str(py)], _uv_env(bench))
        result = compare(bench, cmds)
        if isinstance(result, str):
            bench.report.unavailable(sec, f"capture --offline, {dists} dists", result)
            return
        cap = result["capture"]
        points.append((dists, cap))
        bench.report.add_stats(sec, f"pip freeze, {dists} dists", result["pip"])
        if "uv" in result:
            bench.report.add_stats(sec, f"uv pip freeze, {dists} dists", result["uv"])
        versus = [f"{cap.cpu_s / result['pip'].cpu_s:.2f}x CPU of pip"]
        if "uv" in result:
            versus.append(f"{cap.cpu_s / result['uv'].cpu_s:.2f}x CPU of uv")
        bench.report.add_stats(
            sec, f"capture --offline, {dists} dists", cap, result=", ".join(versus)
        )
        for key, stats in result.items():
            bench.report.put("growth", f"{key}_{dists}_s", stats.median_s)
            bench.report.put("growth", f"{key}_{dists}_cpu_s", stats.cpu_s)
    if len(points) >= 3:
        _linearity(bench, points)
    else:
        bench.report.target(
            "1", "capture grows linearly", "-", "3 sizes", None, "give --sizes A,B,C"
        )


LINEAR_SLOPES = 1.5  # the per-distribution cost of the large step over that of the small one


def _linearity(bench: Bench, points: list[tuple[int, Stats]]) -> None:
    """Linear growth: the CPU time added per distribution from the middle size to the largest is
    about that from the smallest to the middle; a quadratic scan would show it ten-fold."""
    sec = "3 growth"
    (n0, c0), (n1, c1), (n2, c2) = points[0], points[len(points) // 2], points[-1]
    low = (c1.cpu_s - c0.cpu_s) / (n1 - n0)
    high = (c2.cpu_s - c1.cpu_s) / (n2 - n1)
    fixed = c0.cpu_s - low * n0
    ratio = high / low if low > 0 else float("inf")
    bench.report.add(
        sec,
        "capture CPU per distribution",
        f"{low * 1000:.3f} ms ({n0}-{n1}), {high * 1000:.3f} ms ({n1}-{n2})",
        cpu=f"fixed {fmt_ms(fixed)}",
        target=f"ratio <= {LINEAR_SLOPES:g}",
        result=f"{ratio:.2f}x " + verdict(ratio <= LINEAR_SLOPES),
    )
    bench.report.put("growth", "capture_per_dist_cpu_ms_low", low * 1000)
    bench.report.put("growth", "capture_per_dist_cpu_ms_high", high * 1000)
    bench.report.put("growth", "capture_fixed_cpu_s", fixed)
    bench.report.target(
        "1",
        f"capture grows linearly ({n0}, {n1}, {n2} dists)",
        f"{low * 1000:.3f} then {high * 1000:.3f} ms CPU/dist ({ratio:.2f}x)",
        f"<= {LINEAR_SLOPES:g}x",
        ratio <= LINEAR_SLOPES,
    )
