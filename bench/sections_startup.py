"""Bench section 2b: what a capture's start costs besides time (target 1's counts).

- git processes: one capture of the reference env in the bench's clean project, with a `git` on
  PATH that logs each call before running the real one (target: one, ``git status``).
- patterns compiled: the same capture in-process under a hook on `re`'s compiler, which notes
  for each pattern of envsnap's whether its module's import compiled it or its first use did
  (target: none at import).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import refenv
from core import Bench, Cmd, capture_cmd, run_once
from measure import failure_line

__all__ = ["section_startup"]

SEC = "2b capture's start"

# Run by the tool's own interpreter: envsnap's CLI under a hook on re's compiler. Each compile
# is put down to the first frame outside `re` and `envsnap._regex`; it counts when that frame is
# envsnap's, as "import" when a module import is under way in the stack.
_HOOKED = r"""
import sys, re._compiler as rc
counts = {"import": 0, "use": 0}
real = rc.compile
def noting(p, flags=0):
    f, origin, importing = sys._getframe(1), "", False
    while f is not None:
        name = f.f_code.co_filename
        if not origin and "/re/" not in name and not name.endswith("_regex.py"):
            origin = name
        importing = importing or name.startswith("<frozen importlib")
        f = f.f_back
    if "/envsnap/" in origin:
        counts["import" if importing else "use"] += 1
    return real(p, flags)
rc.compile = noting
from envsnap.cli import main
code = main(sys.argv[1:])
print("compiled", counts["import"], counts["use"], code)
"""


def _git_calls(bench: Bench, base: Cmd) -> list[str] | str:
    """The git commands one capture ran (a logging `git` first on PATH), or why not."""
    real = shutil.which("git")
    if real is None:
        return "git is not installed"
    folder = bench.work / "git-log"
    folder.mkdir(exist_ok=True)
    log, wrapper = folder / "calls.log", folder / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    log.unlink(missing_ok=True)
    env = dict(base.env or os.environ)
    env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"
    sample = run_once(Cmd(base.argv, env=env))
    if sample.returncode != 0:
        return failure_line(sample)
    verbs = ("status", "rev-parse", "diff", "config")
    calls = log.read_text().splitlines() if log.exists() else []
    return [next((w for w in c.split() if w in verbs), c[:40]) for c in calls]


def _compiles(bench: Bench, base: Cmd) -> tuple[int, int] | str:
    """(patterns of envsnap's compiled at import, on first use) in one capture, or why not."""
    python = Path(bench.envsnap[0]).with_name("python")
    if not python.is_file():  # `python -m envsnap` (no tool venv): that interpreter
        python = Path(bench.envsnap[0])
    argv = [str(python), "-c", _HOOKED, *base.argv[len(bench.envsnap) :]]
    sample = run_once(Cmd(argv, env=base.env))
    words = (sample.stdout.strip().splitlines() or [""])[-1].split()
    if sample.returncode != 0 or words[:1] != ["compiled"] or words[3:] != ["0"]:
        return failure_line(sample)
    return int(words[1]), int(words[2])


def section_startup(bench: Bench, ref: Path) -> None:
    """Section 2b: git processes and patterns compiled at import in one capture (target 1)."""
    base = capture_cmd(
        bench, refenv.bin_python(ref), bench.work / "cap-start", offline=True, cache="offline"
    )
    calls = _git_calls(bench, base)
    if isinstance(calls, str):
        bench.report.unavailable(SEC, "git processes", calls)
        bench.report.target("1", "git processes, clean tree", "-", "<= 1", None, calls)
    else:
        bench.report.add(
            SEC,
            "git processes, clean project",
            f"{len(calls)}: {' '.join(calls)}",
            target="<= 1",
            result="PASS" if len(calls) <= 1 else "FAIL",
        )
        bench.report.put("startup", "git_processes", len(calls))
        bench.report.target(
            "1", "git processes, clean tree", f"{len(calls)} ({' '.join(calls)})", "<= 1",
            len(calls) <= 1,
        )  # fmt: skip
    counted = _compiles(bench, base)
    if isinstance(counted, str):
        bench.report.unavailable(SEC, "patterns compiled", counted)
        bench.report.target("1", "patterns compiled at import", "-", "0", None, counted)
        return
    at_import, on_use = counted
    bench.report.add(
        SEC,
        "envsnap patterns compiled: at import / on use",
        f"{at_import} / {on_use}",
        target="0 at import",
        result="PASS" if at_import == 0 else "FAIL",
    )
    bench.report.put("startup", "patterns_at_import", at_import)
    bench.report.put("startup", "patterns_on_use", on_use)
    bench.report.target(
        "1",
        "patterns compiled at import (capture)",
        f"{at_import} (and {on_use} on first use)",
        "0",
        at_import == 0,
    )
