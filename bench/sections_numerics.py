"""Bench section 7: the numerics battery: its own work, and what it adds to capture and check.

The target is a venv with numpy, threadpoolctl and torch (CPU; from the local wheel folder
when there is one), built once under the bench home. Measured, interleaved:
`python -c "import numpy, torch"` (what any battery must pay), the battery alone (its own
report of the seconds spent after the imports is the figure with a target: <= 3 s), and
`capture` / `check` of that venv with and without `--numerics`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core import ROOT, Bench, Cmd, compare, run_once, verdict
from measure import failure_line
from report import fmt_ms

__all__ = ["ensure_numerics_env", "section_numerics"]

SEC = "7 numerics battery"
WHEELS = Path(os.environ.get("ENVSNAP_TEST_WHEELS", "/opt/wheels"))
BATTERY = ROOT / "envsnap" / "numerics" / "_battery.py"
TARGET_S = 3.0


def ensure_numerics_env(home: Path) -> Path | str:
    """The python of <home>/numerics-venv (numpy, threadpoolctl, torch), or why it failed."""
    venv = home / "numerics-venv"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    links = ["--find-links", str(WHEELS)] if WHEELS.is_dir() else []
    wanted = ("numpy", "threadpoolctl", "torch==2.13.0")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *links, *wanted],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["pip failed"])[-1]
    (venv / ".complete").write_text("ok\n")
    return python


def _battery_work(python: Path, runs: int) -> list[tuple[float, float]]:
    """The battery's own (wall, CPU) seconds after its imports, *runs* times."""
    out = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), str(BATTERY)], capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            data = json.loads(done.stdout)
            out.append((float(data["work-seconds"]), float(data["work-cpu-seconds"])))
    return out


def section_numerics(bench: Bench, python: Path | None = None) -> None:
    """Measure the battery and its cost inside capture and check."""
    target = python or ensure_numerics_env(bench.home)
    if isinstance(target, str):
        bench.report.unavailable(SEC, "numerics venv", target)
        return
    cap = bench.work / "cap-numerics"
    env = bench.cache_env("offline")
    base = [*bench.envsnap, "capture", "--offline", "--python", str(target)]
    first = run_once(Cmd([*base, "--numerics", "-o", str(cap)], env=env))
    if first.returncode != 0:
        bench.report.unavailable(SEC, "capture --numerics", failure_line(first))
        return
    check = [*bench.envsnap, "check", str(cap), "--python", str(target)]
    cmds = {
        "import numpy, torch": Cmd([str(target), "-c", "import numpy, torch"]),
        "battery alone": Cmd([str(target), str(BATTERY)]),
        "capture": Cmd([*base, "-o", str(bench.work / "cap-plain")], env=env),
        "capture --numerics": Cmd([*base, "--numerics", "-o", str(bench.work / "cap-n")], env=env),
        "check": Cmd(check, ok=(0, 1)),
        "check --numerics": Cmd([*check, "--numerics"], ok=(0, 1)),
    }
    result = compare(bench, cmds)
    if isinstance(result, str):
        bench.report.unavailable(SEC, "numerics", result)
        return
    for name, stats in result.items():
        bench.report.add_stats(SEC, name, stats)
        bench.report.put("numerics", f"{name}_s", stats.median_s)
    work = sorted(_battery_work(Path(target), bench.runs))
    if work:
        median, cpu = work[len(work) // 2][0], sorted(c for _, c in work)[len(work) // 2]
        bench.report.add(
            SEC,
            "battery work after imports (its own clock)",
            fmt_ms(median),
            cpu=fmt_ms(cpu),
            target=f"<= {TARGET_S:g} s",
            result=verdict(median <= TARGET_S),
        )
        bench.report.put("numerics", "battery_work_s", median)
        bench.report.put("numerics", "battery_work_cpu_s", cpu)
    for verb in ("capture", "check"):
        added = result[f"{verb} --numerics"].median_s - result[verb].median_s
        bench.report.add(SEC, f"{verb}: added by --numerics", fmt_ms(added))
        bench.report.put("numerics", f"{verb}_added_s", added)
