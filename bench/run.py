"""`make bench`: envsnap's speed targets measured side by side, medians of several runs.

Sections: the reference environment (~40 distributions, built once under .bench/), capture
against `uv pip freeze` and `pip freeze` (time and peak memory), the git processes and patterns
a capture's start costs, growth over 30, 300 and 3,000 generated distributions, `envsnap check`
against `python -c pass`, the rebuild render time, the fleet, and what `envsnap repro` adds.
Heavier sections run only when asked: --full (the numerics battery, require() under torchrun,
1 GiB repro comparisons), --docker (image builds), --suite (the test suite's times). Each
target of issue 21 ends in the summary with PASS, FAIL or "not run"; a verb that does not work
shows as "unavailable: <why>".

Usage: python bench/run.py [--runs N] [--json] [--full] [--docker] [--suite]
                           [--numerics-only] [--only fleet|repro|suite|rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docker_bench
import refenv
import toolenv
from core import ROOT, Bench
from sections_capture import fill_cache, section_capture, section_growth, section_reference
from sections_check import section_check, section_render
from sections_fleet import section_distributed, section_fleet
from sections_numerics import section_numerics
from sections_rebuild import section_rebuild
from sections_repro import section_repro
from sections_startup import section_startup
from sections_suite import section_suite

__all__ = ["main"]


def _envsnap_command(home: Path) -> tuple[list[str], str, str]:
    """(envsnap argv, its python, how it is installed): the installed tool, else the dev one."""
    dev_py = ROOT / ".venv" / "bin" / "python"
    dev = str(dev_py) if dev_py.exists() else sys.executable
    tool = toolenv.ensure_tool_env(home, ROOT, dev)
    if not isinstance(tool, str):
        return tool[0], tool[1], "a wheel of this tree in .bench/tool-venv, as users install it"
    script = ROOT / ".venv" / "bin" / "envsnap"
    if script.exists():
        return [str(script)], dev, f"the dev venv's editable install ({tool})"
    return [sys.executable, "-m", "envsnap"], sys.executable, f"python -m envsnap ({tool})"


def _machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "load1": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _noise_note(info: dict[str, Any], total: float, before_docker: float) -> str:
    load_end = os.getloadavg()[0]
    busy = max(info["load1"], load_end) >= (info["cpus"] or 1)
    return (
        f"\nnoise: load average {info['load1']} at start, {load_end:.2f} at end, on "
        f"{info['cpus']} CPUs. "
        + (
            "The machine was busy: wall times are inflated and noisy (see each min-max); "
            "CPU time (user+sys of the command and its children) is the steadier measure. "
            if busy
            else "Wall medians still move ~10-20% between runs on a shared VM. "
        )
        + f"Whole bench: {total:.0f} s ({before_docker:.0f} s before the Docker section)."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=7, help="measured runs per command (default 7)")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured runs first (default 1)")
    p.add_argument(
        "--sizes", default="30,300,3000", help="generated env sizes (default 30,300,3000)"
    )
    p.add_argument("--json", action="store_true", help="print JSON on stdout (table on stderr)")
    p.add_argument(
        "--full",
        action="store_true",
        help="also the numerics battery, require() under torchrun and the 1 GiB repro "
        "comparisons (several minutes; builds .bench/numerics-venv and fleet-venv once)",
    )
    p.add_argument("--docker", action="store_true", help="also build images (several minutes)")
    p.add_argument(
        "--suite",
        action="store_true",
        help="also time the test suite, whole and fast tier (10-30 minutes)",
    )
    p.add_argument(
        "--numerics-only",
        action="store_true",
        help="run only section 7, the numerics battery (builds .bench/numerics-venv once)",
    )
    p.add_argument(
        "--numerics-python", type=Path, help="target for section 7 (default .bench/numerics-venv)"
    )
    p.add_argument(
        "--only",
        choices=("fleet", "repro", "suite", "rebuild"),
        help="run one group of sections only (fleet: envsnap fleet and require(distributed=True);"
        " repro: its overhead and a 1 GiB comparison; suite: the test suite's times; rebuild:"
        " the floor, a cold and a warm image build, pip vs uv: implies --docker)",
    )
    p.add_argument(
        "--home",
        type=Path,
        default=ROOT / ".bench",
        help="where built environments are cached (default .bench/)",
    )
    args = p.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        p.error(f"--sizes: comma-separated integers expected, got {args.sizes!r}")
    if args.runs < 1 or args.warmup < 0 or any(n < 1 for n in args.sizes):
        p.error("--runs and --sizes must be >= 1, --warmup >= 0")
    return args


def _fleet_sections(bench: Bench, *, distributed: bool = True) -> None:
    section_fleet(bench)
    if distributed:
        print("bench: require(distributed=True) under torchrun ...", file=sys.stderr)
        section_distributed(bench)
    else:
        bench.report.skipped("9 require(distributed=True)", "under torchrun", "pass --full")


# Targets measured only by a section that runs on request: "not run" in the summary otherwise.
ON_REQUEST = {"3": ("rebuild: cold and warm image builds", "pass --docker"),
              "5": ("test suite, whole and fast tier", "pass --suite")}  # fmt: skip


class _Timer:
    """Say what runs, and keep how long each section took (the summary lists them)."""

    def __init__(self, bench: Bench) -> None:
        self.bench, self.last, self.name = bench, time.perf_counter(), ""

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.name:
            self.bench.report.put("sections_s", self.name, round(now - self.last, 1))
        self.last, self.name = now, name
        if name:
            print(f"bench: {name} ...", file=sys.stderr)


def _only(args: argparse.Namespace, bench: Bench) -> None:
    """The sections --numerics-only and --only ask for, alone."""
    if args.numerics_only:
        print("bench: numerics battery ...", file=sys.stderr)
        section_numerics(bench, args.numerics_python)
    if args.only == "fleet":
        _fleet_sections(bench)
    if args.only == "repro":
        print("bench: repro overhead and a 1 GiB comparison ...", file=sys.stderr)
        section_repro(bench)
    if args.only == "suite":
        print("bench: the test suite, fast tier and whole (many minutes) ...", file=sys.stderr)
        section_suite(bench)
    if args.only == "rebuild":
        ref = section_reference(bench)
        filled = fill_cache(bench, refenv.bin_python(ref))
        if isinstance(filled, str):
            bench.report.unavailable("6 rebuild", "a capture with hashes", filled)
        _docker_section(bench, ref, enabled=True)


def _docker_section(bench: Bench, ref: Path, *, enabled: bool) -> None:
    print("bench: rebuild: floor, cold, warm, pip vs uv ...", file=sys.stderr)
    section_rebuild(
        bench.report,
        docker_bench.DockerInputs(
            envsnap=bench.envsnap,
            capture_env=bench.cache_env("warm"),
            hashed_capture=bench.captures.get("ref-hashed"),
            ref=ref,
            work=bench.work,
            enabled=enabled,
        ),
    )


def _sections(args: argparse.Namespace, bench: Bench) -> Path:
    """Every section before Docker's, in order; return the reference environment."""
    step = _Timer(bench)
    step("reference environment")
    ref = section_reference(bench)
    step("capture vs uv pip freeze and pip freeze")
    section_capture(bench, ref)
    step("git processes and patterns compiled in one capture")
    section_startup(bench, ref)
    step(f"growth over {args.sizes} generated dists")
    section_growth(bench, args.sizes)
    step("check overhead")
    section_check(bench)
    step("rebuild render")
    section_render(bench)
    if args.full:
        step("numerics battery")
        section_numerics(bench, args.numerics_python)
    else:
        bench.report.skipped("7 numerics battery", "numerics", "pass --full")
    step("fleet")
    _fleet_sections(bench, distributed=args.full)
    step("repro overhead" + (" and a 1 GiB comparison" if args.full else ""))
    section_repro(bench, compare_1gib=args.full)
    if args.suite:
        step("the test suite, fast tier and whole (many minutes)")
        section_suite(bench)
    step("")
    return ref


def _summary(bench: Bench, runs: int, info: dict[str, Any], out: Any) -> None:
    """The targets of issue 21, each PASS, FAIL or not run (and why)."""
    recorded = {t.number for t in bench.report.targets}
    for number, (what, why) in ON_REQUEST.items():
        if number not in recorded:
            bench.report.target(number, what, "-", "", None, why)
    print(f"\nissue 21 targets (medians of {runs} runs, load {info['load1']} at start):", file=out)
    print(bench.report.summary(), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every section and print the table (and JSON with --json)."""
    args = parse_args(argv)
    started = time.perf_counter()
    out = sys.stderr if args.json else sys.stdout
    envsnap, dev_py, how = _envsnap_command(args.home.resolve())
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-") as tmp:
        bench = Bench(
            runs=args.runs,
            warmup=args.warmup,
            work=Path(tmp),
            envsnap=envsnap,
            dev_python=dev_py,
            home=args.home.resolve(),
        )
        info = _machine()
        bench.report.data["machine"] = info
        bench.report.put("bench", "envsnap", how)
        if args.numerics_only or args.only:
            _only(args, bench)
            print(bench.report.table(), file=out)
            if bench.report.targets:
                print(bench.report.summary(), file=out)
            if args.json:
                print(json.dumps(bench.report.as_json(), indent=2, sort_keys=True))
            return 0
        ref = _sections(args, bench)
        before_docker = time.perf_counter() - started
        bench.report.put("bench", "sections_before_docker_s", round(before_docker, 1))
        if args.docker:
            # Image builds take many minutes: show what is already measured first.
            print(bench.report.table(), file=sys.stderr)
            print(
                f"(the sections before Docker took {before_docker:.0f} s; building images ...)",
                file=sys.stderr,
            )
        _docker_section(bench, ref, enabled=args.docker)
        total = time.perf_counter() - started
        bench.report.put("bench", "total_s", round(total, 1))
        bench.report.put("bench", "runs", args.runs)
        print(
            f"\nenvsnap bench: medians of {args.runs} interleaved runs after {args.warmup} "
            f"warm-up; {info['cpus']} CPUs ({info['cpu']}), load {info['load1']} at start;\n"
            f"envsnap timed: {how}",
            file=out,
        )
        print(bench.report.table(), file=out)
        print(_noise_note(info, total, before_docker), file=out)
        _summary(bench, args.runs, info, out)
        if args.json:
            print(json.dumps(bench.report.as_json(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
