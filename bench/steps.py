"""Time each step of an image build from its progress lines, as they arrive.

A classic-builder build says ``Step k/M : INSTR`` (the Docker API, the docker CLI) and envsnap
rebuild says ``[k/M] INSTR``; a cached step adds ``(cached)`` / ``---> Using cache``. A step
lasts from its line to the next step's (the last one to the end of the build). `run_timed`
stamps each line of a command's output when it is read; `step_times` turns stamped lines into
steps, and `instructions` names the stage each step belongs to.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["StepTime", "Timed", "instructions", "run_timed", "step_times", "table"]

_STEP = re.compile(r"^(?:\[(\d+)/(\d+)\]|Step (\d+)/(\d+) :)\s*(.*)$")
_CACHED = re.compile(r"^\s*(?:\(cached\)|---> Using cache)\s*$")
_FROM_AS = re.compile(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?", re.IGNORECASE)


@dataclass(frozen=True)
class Timed:
    """A command's status, wall time and its output lines stamped with their arrival (s)."""

    returncode: int
    wall_s: float
    lines: tuple[tuple[float, str], ...]

    @property
    def text(self) -> str:
        """The output, stdout and stderr interleaved as they came."""
        return "\n".join(line for _, line in self.lines)


@dataclass(frozen=True)
class StepTime:
    """One build step: its number, instruction, stage, seconds, and whether it was cached."""

    number: int
    text: str
    stage: str
    seconds: float
    cached: bool


def run_timed(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 3600.0
) -> Timed:
    """Run *argv*, stamping each output line (stdout and stderr) as it is read."""
    started = time.perf_counter()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = timeout - (time.perf_counter() - started)
            if left <= 0:
                proc.kill()
                proc.wait()
                lines.append((time.perf_counter() - started, f"timed out after {timeout:g} s"))
                return Timed(124, timeout, tuple(lines))
            if not sel.select(timeout=min(left, 5.0)):
                continue
            line = proc.stdout.readline()
            if not line:
                break
            lines.append((time.perf_counter() - started, line.rstrip("\n")))
        code = proc.wait()
    return Timed(code, time.perf_counter() - started, tuple(lines))


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(stage, instruction) of each instruction of *dockerfile*, in order: the k-th is build
    step k. The stage is its ``AS`` name, "final" for the unnamed last one."""
    found: list[tuple[str, str]] = []
    current = ""
    joined = re.sub(r"\\\n", " ", dockerfile)
    for raw in joined.splitlines():
        line = " ".join(raw.split())
        if not line or line.startswith("#"):
            continue
        match = _FROM_AS.match(line)
        if match:
            current = match.group(1) or "final"
        found.append((current, line))
    return found


def step_times(
    lines: Iterable[tuple[float, str]], end_s: float, stages: Sequence[str] = ()
) -> list[StepTime]:
    """The steps in stamped *lines*; the last step ends at *end_s* (or at a "built image" or
    "Successfully built" line, whichever comes first)."""
    found: list[tuple[int, str, float]] = []
    cached: set[int] = set()
    for stamp, line in lines:
        match = _STEP.match(line.strip())
        if match:
            number = int(match.group(1) or match.group(3))
            found.append((number, match.group(5), stamp))
        elif found and _CACHED.match(line):
            cached.add(found[-1][0])
        elif found and line.startswith(("built image ", "Successfully built ")):
            end_s = min(end_s, stamp)
    steps = []
    for i, (number, text, start) in enumerate(found):
        stop = found[i + 1][2] if i + 1 < len(found) else end_s
        stage = stages[number - 1] if 0 < number <= len(stages) else ""
        steps.append(StepTime(number, text, stage, max(0.0, stop - start), number in cached))
    return steps


def table(steps: Sequence[StepTime], *, width: int = 70) -> str:
    """The steps as aligned lines: seconds, stage, cached or not, the instruction."""
    out = []
    for s in steps:
        text = " ".join(s.text.split())
        text = text if len(text) <= width else text[: width - 1] + "…"
        flag = "cached" if s.cached else ""
        out.append(f"  {s.seconds:7.1f} s  {s.stage[:18]:18}  {flag:6}  {text}")
    return os.linesep.join(out)
