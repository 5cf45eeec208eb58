"""Bench section 6: `envsnap fleet` over 100 / 1,000 / 10,000 node reports, and what
`envsnap.require(DIR, distributed=True)` adds to the start of a 4-rank torchrun job.

The reports are copies of one real report of this machine (`gen_reports.py`), with a few odd
drivers and package sets. The torchrun job runs in <home>/fleet-venv (torch CPU and a wheel of
this tree): the same script with and without the check, interleaved.
"""

from __future__ import annotations

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
BASE = "import torch.distributed\n"
WITH_CHECK = (
    "import sys, torch.distributed, envsnap\nenvsnap.require(sys.argv[1], distributed=True)\n"
)
LOCAL_CHECK = "import sys, torch.distributed, envsnap\nenvsnap.require(sys.argv[1])\n"


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
    sec = "6 fleet"
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


def section_distributed(bench: Bench) -> None:
    """A 4-rank torchrun of `import torch.distributed` alone, with `require(DIR)` and with
    `require(DIR, distributed=True)`: the check and the exchange, as the job's start sees it."""
    sec = "7 require(distributed=True)"
    python = _fleet_python(bench)
    if isinstance(python, str):
        bench.report.unavailable(sec, f"torchrun x{RANKS}", python)
        return
    cap = bench.work / "fleet-venv-cap"
    done = run_once(Cmd([str(python), "-m", "envsnap", "capture", "--offline", "-o", str(cap)]))
    if done.returncode != 0:
        bench.report.unavailable(sec, f"torchrun x{RANKS}", failure_line(done))
        return
    cmds = {}
    for name, script in (("base", BASE), ("local", LOCAL_CHECK), ("fleet", WITH_CHECK)):
        path = bench.work / f"rank-{name}.py"
        path.write_text(script)
        argv = [str(python), "-m", "torch.distributed.run", "--nproc-per-node", str(RANKS)]
        cmds[name] = Cmd([*argv, str(path), str(cap)])
    result = compare(bench, cmds)
    if isinstance(result, str):
        bench.report.unavailable(sec, f"torchrun x{RANKS}", result)
        return
    base = result["base"]
    bench.report.add_stats(sec, f"torchrun x{RANKS}: import torch.distributed", base)
    for name, what in (("local", "+ require(DIR) on each rank"),
                       ("fleet", "+ require(DIR, distributed=True)")):  # fmt: skip
        stats = result[name]
        added = (stats.median_s - base.median_s) * 1000
        bench.report.add_stats(
            sec,
            what,
            stats,
            result=f"+{added:.0f} ms wall (+{(stats.cpu_s - base.cpu_s) * 1000:.0f} ms CPU)",
        )
        bench.report.put("distributed", f"{name}_added_ms", round(added, 1))
