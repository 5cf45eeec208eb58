"""Shared pieces of the bench: where things live, a measured command, interleaved medians."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from measure import Sample, Stats, failure_line, measure, summarize
from report import Report

__all__ = ["ROOT", "Bench", "Cmd", "capture_cmd", "compare", "run_once", "verdict"]

ROOT = Path(__file__).resolve().parent.parent
CACHE_ENV_KEYS = ("XDG_CACHE_HOME", "ENVSNAP_CACHE_DIR")


@dataclass(frozen=True)
class Cmd:
    """A command to measure; *fresh* is removed before every run; *ok* are accepted statuses."""

    argv: list[str]
    env: dict[str, str] | None = None
    fresh: Path | None = None
    ok: tuple[int, ...] = (0,)


@dataclass
class Bench:
    """What every section needs: options, paths, the envsnap command and the report."""

    runs: int
    warmup: int
    work: Path
    envsnap: list[str]
    dev_python: str
    home: Path  # the cache of built environments (default .bench/)
    report: Report = field(default_factory=Report)
    captures: dict[str, Path] = field(default_factory=dict)

    def cache_env(self, name: str) -> dict[str, str]:
        """Environment that points envsnap's hash cache at <home>/cache-<name>."""
        cache = self.home / f"cache-{name}"
        cache.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for key in CACHE_ENV_KEYS:
            env[key] = str(cache)
        return env


def run_once(cmd: Cmd, timeout: float = 900.0) -> Sample:
    """Run *cmd* once under the measuring launcher (killed, status 124, after *timeout* s)."""
    if cmd.fresh is not None and cmd.fresh.exists():
        shutil.rmtree(cmd.fresh)
    return measure(cmd.argv, env=cmd.env, cwd=ROOT, timeout=timeout)


def compare(bench: Bench, cmds: dict[str, Cmd]) -> dict[str, Stats] | str:
    """Measure *cmds* interleaved, `bench.runs` rounds after warm-up; a failure returns why."""
    samples: dict[str, list[Sample]] = {name: [] for name in cmds}
    for round_no in range(bench.warmup + bench.runs):
        for name, cmd in cmds.items():
            sample = run_once(cmd)
            if sample.returncode not in cmd.ok:
                return f"{name}: {failure_line(sample)}"
            if round_no >= bench.warmup:
                samples[name].append(sample)
    return {name: summarize(s) for name, s in samples.items()}


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def capture_cmd(bench: Bench, python: Path, out: Path, *, offline: bool, cache: str) -> Cmd:
    """`envsnap capture --python PY -o OUT --project P [--offline]` with its hash cache in the
    bench home; P is the bench's clean project checkout (`refenv.ensure_project`)."""
    from refenv import ensure_project

    project = ensure_project(bench.home)
    argv = [*bench.envsnap, "capture", "--python", str(python), "-o", str(out)]
    argv += ["--project", str(project)]
    if offline:
        argv.append("--offline")
    return Cmd(argv, env=bench.cache_env(cache))
