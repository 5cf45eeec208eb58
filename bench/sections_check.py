"""Bench sections 4-5: `envsnap check` overhead and `envsnap rebuild` render time."""

from __future__ import annotations

import json
import statistics
from typing import Any

import refenv
from core import Bench, Cmd, compare, run_once, verdict
from measure import Sample, failure_line, launcher_floor, summarize
from report import fmt_rss

__all__ = ["section_check", "section_render"]

ADDED_MS = 20.0  # issue 21, target 2: what check may add to `python -c pass`
RSS_MIB = 16.0  # ... and its peak memory
SLOW_S = 2.0  # a render slower than this is measured SLOW_RUNS times, not --runs times
SLOW_RUNS = 3

# The reference env's own projects (bench/refenv.py): rebuild builds them only when named.
OWN = ("--build-on-host", "bench-localpkg", "--build-on-host", "bench-gitpkg")


def section_check(bench: Bench) -> None:
    """Section 4: `envsnap check` against a capture of the same env vs `python -c pass`."""
    sec = "4 check overhead"
    cap = bench.work / "cap-dev"
    sample = run_once(
        Cmd(
            [*bench.envsnap, "capture", "--offline", "-o", str(cap)], env=bench.cache_env("offline")
        )
    )
    if sample.returncode != 0:
        bench.report.unavailable(sec, "check (needs a capture)", failure_line(sample))
        return
    probe = run_once(Cmd([*bench.envsnap, "check", "--json", str(cap)], ok=(0, 1)))
    if probe.returncode not in (0, 1):
        bench.report.unavailable(sec, "envsnap check", failure_line(probe))
        return
    try:
        doc = json.loads(probe.stdout)
        findings = f"{len(doc.get('findings', []))} findings, compatible={doc.get('compatible')}"
    except (ValueError, AttributeError):
        findings = "no JSON"
    cmds = {
        "python -c pass": Cmd([bench.dev_python, "-c", "pass"]),
        "check": Cmd([*bench.envsnap, "check", str(cap)], ok=(0, 1)),
    }
    ref_cap = bench.captures.get("ref-offline")
    if ref_cap is not None:
        ref_py = refenv.bin_python(bench.home / "ref-venv")
        cmds["check --python ref-venv"] = Cmd(
            [*bench.envsnap, "check", "--python", str(ref_py), str(ref_cap)], ok=(0, 1)
        )
    result = compare(bench, cmds)
    if isinstance(result, str):
        bench.report.unavailable(sec, "envsnap check", result)
        bench.report.target("2", "check: added to python -c pass", "-", "", False, result)
        return
    base = result.pop("python -c pass")
    floor = launcher_floor()
    bench.report.add_stats(sec, "python -c pass (same interpreter)", base)
    bench.report.add(
        sec, "the launcher's own peak RSS (a floor)", "-", rss=fmt_rss(floor), result="(info)"
    )
    bench.report.put("check", "python_pass_s", base.median_s)
    bench.report.put("check", "rss_floor_kib", floor)
    for name, stats in result.items():
        added = (stats.median_s - base.median_s) * 1000
        added_cpu = (stats.cpu_s - base.cpu_s) * 1000
        mine = name == "check"
        res = f"+{added:.0f} ms wall (+{added_cpu:.0f} ms CPU)"
        bench.report.add_stats(
            sec,
            f"{name} ({findings})" if mine else name,
            stats,
            target=f"<={ADDED_MS:g} ms, <{RSS_MIB:g} MiB" if mine else "(info: another venv)",
            result=res,
        )
        key = name.replace(" ", "_").replace("-", "")
        bench.report.put("check", f"{key}_added_ms", round(added, 1))
        bench.report.put("check", f"{key}_added_cpu_ms", round(added_cpu, 1))
        bench.report.put("check", f"{key}_rss_kib", stats.rss_kib)
        if mine:
            bench.report.target(
                "2",
                "check: added to python -c pass",
                f"+{added:.1f} ms wall (+{added_cpu:.1f} ms CPU)",
                f"<= {ADDED_MS:g} ms",
                added <= ADDED_MS,
            )
            rss = stats.rss_kib / 1024
            bench.report.target(
                "2",
                "check: peak memory",
                f"{rss:.1f} MiB (launcher floor {floor / 1024:.1f} MiB)",
                f"< {RSS_MIB:g} MiB",
                rss < RSS_MIB,
            )


def _render_ms(stdout: str) -> float | None:
    """Find a render time in rebuild's --json output (a key naming 'render', in ms or s)."""
    try:
        doc: Any = json.loads(stdout)
    except ValueError:
        return None
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, val in node.items():
                if "render" in key and isinstance(val, (int, float)) and not isinstance(val, bool):
                    return float(val) if key.endswith("ms") else float(val) * 1000
                stack.append(val)
        elif isinstance(node, list):
            stack.extend(node)
    return None


def section_render(bench: Bench) -> None:
    """Section 5: `envsnap rebuild --no-build --context` on the 40-package capture."""
    sec = "5 render (rebuild)"
    cap = bench.captures.get("ref-hashed") or bench.captures.get("ref-offline")
    if cap is None:
        bench.report.unavailable(sec, "rebuild --no-build", "no capture of the reference env")
        return
    ctx = bench.work / "context"
    argv = [*bench.envsnap, "rebuild", str(cap), "--no-build", "--context", str(ctx), *OWN]
    probe = run_once(Cmd([*argv, "--json"], fresh=ctx))
    if probe.returncode == 2 and "--json" in probe.stderr:
        probe = run_once(Cmd(argv, fresh=ctx))
    else:
        argv.append("--json")
    if probe.returncode != 0:
        bench.report.unavailable(sec, "rebuild --no-build", failure_line(probe))
        return
    # The probe was the warm-up. A command of seconds gets fewer runs: its noise is small.
    runs = bench.runs if probe.wall_s < SLOW_S else min(bench.runs, SLOW_RUNS)
    samples: list[Sample] = []
    for _ in range(runs):
        sample = run_once(Cmd(argv, fresh=ctx))
        if sample.returncode != 0:
            bench.report.unavailable(sec, "rebuild --no-build", failure_line(sample))
            return
        samples.append(sample)
    stats = summarize(samples)
    renders = [r for r in (_render_ms(s.stdout) for s in samples) if r is not None]
    bench.report.add_stats(
        sec,
        "rebuild --no-build, whole command" + (f" ({runs} runs)" if runs != bench.runs else ""),
        stats,
        target="render <100 ms",
        result="" if renders else verdict(stats.median_s < 0.1) + " (upper bound)",
    )
    bench.report.put("render", "command_s", stats.median_s)
    bench.report.put("render", "runs", runs)
    if renders:
        median = statistics.median(renders)
        bench.report.add(
            sec,
            "render alone (from --json)",
            f"{median:.1f} ms",
            target="<100 ms",
            result=verdict(median < 100),
        )
        bench.report.put("render", "render_ms", median)
