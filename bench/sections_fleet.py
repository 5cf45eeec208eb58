"""Bench section 6: `envsnap fleet` over 100 / 1,000 / 10,000 node reports, and what
`envsnap.require(DIR, distributed=True)` adds to the start of a 4-rank torchrun job.

The reports are copies of one real report of this machine (`gen_reports.py`), with a few odd
drivers and package sets. The torchrun job runs in <home>/fleet-venv (torch CPU and a wheel of
this tree); each rank times the call itself, local and distributed runs interleaved.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import tomllib
from core import ROOT, Bench, Cmd, compare, run_once, verdict
from gen_reports import generate
from measure import failure_line

__all__ = ["section_distributed", "section_fleet"]

SIZES = (100, 1000, 10000)
TORCH = "torch==2.13.0"
RANKS = 4
# Each rank stamps the call itself: on a shared 2-core machine the whole torchrun (4 torch
# imports) moves by seconds between runs, far more than the check adds. What the job's start
# pays is from the last rank entering the call to the last rank leaving it: the ranks' start
# skew, which the job's first collective would wait for anyway, is not the check's.
RANK_SCRIPT = """\
import os, sys, time, torch.distributed, envsnap
start = time.time()
envsnap.require(sys.argv[1], distributed=sys.argv[2] == "fleet")
os.write(1, f"require-t {start:.6f} {time.time():.6f}\\n".encode())
"""


def _template(bench: Bench) -> Path | str:
    """One real node report of this machine, or why not."""
    cap, reports = bench.work / "fleet-cap", bench.work / "fleet-template"
    env = bench.cache_env("offline")
    done = run_once(Cmd([*bench.envsnap, "capture", "--offline", "-o", str(cap)], env=env))
    if done.returncode != 0:
        return failure_line(done)
    argv = [*bench.envsnap, "check", str(cap), "--save", str(reports), "--node", "template"]
    done = run_once(Cmd(argv, env=env, ok=(0, 1)))
    if done.returncode not in (0, 1):
        return failure_line(done)
    return reports / "template.json"


def section_fleet(bench: Bench) -> None:
    """`envsnap fleet DIR` on generated report folders: the time per report stays flat."""
    sec = "8 fleet"
    template = _template(bench)
    if isinstance(template, str):
        bench.report.unavailable(sec, "envsnap fleet", template)
        return
    cmds = {}
    for n in SIZES:
        folder = bench.work / f"fleet-{n}"
        generate(template, folder, n)
        cmds[f"{n:,}"] = Cmd([*bench.envsnap, "fleet", str(folder)], ok=(0, 1))
    result = compare(bench, cmds)
    if isinstance(result, str):
        bench.report.unavailable(sec, "envsnap fleet", result)
        return
    for n in SIZES:
        stats = result[f"{n:,}"]
        per = stats.median_s / n * 1e6
        big = n == SIZES[-1]
        bench.report.add_stats(
            sec,
            f"fleet over {n:,} reports ({per:.0f} us/report)",
            stats,
            target="<=2 s" if big else "",
            result=verdict(stats.median_s <= 2.0) if big else "",
        )
        bench.report.put("fleet", f"reports_{n}_s", stats.median_s)
        bench.report.put("fleet", f"reports_{n}_us_per_report", round(per, 1))


def _fleet_python(bench: Bench) -> Path | str:
    """<home>/fleet-venv with torch and this tree installed (envsnap reinstalled every run)."""
    venv = bench.home / "fleet-venv"
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    steps = []
    if not (venv / ".torch").exists():
        deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
        steps = [[sys.executable, "-m", "venv", "--without-pip", str(venv)], [*pip, TORCH, *deps]]
    steps.append([*pip, "--no-deps", "--force-reinstall", str(ROOT)])
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return (done.stderr or done.stdout).strip().splitlines()[-1]
    (venv / ".torch").write_text(TORCH)
    return python


def _added(stdout: str) -> float | None:
    """Seconds from the last rank entering `require` to the last rank leaving it."""
    stamps = [ln.split()[1:] for ln in stdout.splitlines() if ln.startswith("require-t ")]
    if len(stamps) != RANKS:
        return None
    return max(float(end) for _, end in stamps) - max(float(start) for start, _ in stamps)


def section_distributed(bench: Bench) -> None:
    """A 4-rank torchrun whose ranks stamp `require(DIR)` and `require(DIR, distributed=True)`
    themselves (interleaved runs): what each adds to the job's start."""
    sec = "9 require(distributed=True)"
    python = _fleet_python(bench)
    if isinstance(python, str):
        bench.report.unavailable(sec, f"torchrun x{RANKS}", python)
        return
    cap = bench.work / "fleet-venv-cap"
    done = run_once(Cmd([str(python), "-m", "envsnap", "capture", "--offline", "-o", str(cap)]))
    if done.returncode != 0:
        bench.report.unavailable(sec, f"torchrun x{RANKS}", failure_line(done))
        return
    script = bench.work / "rank.py"
    script.write_text(RANK_SCRIPT)
    argv = [str(python), "-m", "torch.distributed.run", "--nproc-per-node", str(RANKS)]
    times: dict[str, list[float]] = {"local": [], "fleet": []}
    for round_no in range(bench.warmup + bench.runs):
        for mode, found in times.items():
            sample = run_once(Cmd([*argv, str(script), str(cap), mode]))
            added = _added(sample.stdout) if sample.returncode == 0 else None
            if added is None:
                bench.report.unavailable(sec, f"torchrun x{RANKS} {mode}", failure_line(sample))
                return
            if round_no >= bench.warmup:
                found.append(added)
    local, fleet = (statistics.median(times[m]) * 1000 for m in ("local", "fleet"))
    for what, ms, mode in (
        ("require(DIR) on each rank: last rank in to last out", local, "local"),
        ("require(DIR, distributed=True): same", fleet, "fleet"),
    ):
        spread = f"{min(times[mode]) * 1000:.0f}-{max(times[mode]) * 1000:.0f} ms"
        bench.report.add(sec, what, f"{ms:.0f} ms ({spread})")
        bench.report.put("distributed", f"{mode}_require_ms", round(ms, 1))
    bench.report.add(
        sec, "the exchange (distributed minus local)", f"{fleet - local:+.0f} ms", target="info"
    )
