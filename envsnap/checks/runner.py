"""Run every rule on a (recorded, current) pair and return the sorted report."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from envsnap.model import Snapshot

from ..findings import CheckReport, Finding
from .rules import blas, conda, cpu, cuda, determinism, gpu, hardware, memory, packages, python
from .rules import os as os_rules

__all__ = ["ALL_RULES", "Rule", "run"]

Rule = Callable[[Snapshot, Snapshot], list[Finding]]

ALL_RULES: tuple[Rule, ...] = (
    *python.RULES,
    *os_rules.RULES,
    *packages.RULES,
    *conda.RULES,
    *cuda.RULES,
    *gpu.RULES,
    *cpu.RULES,
    *memory.RULES,
    *blas.RULES,
    *determinism.RULES,
    *hardware.RULES,
)


def run(recorded: Snapshot, current: Snapshot, rules: Sequence[Rule] = ALL_RULES) -> CheckReport:
    """Apply *rules* to the pair; findings are de-duplicated and sorted worst first."""
    findings: set[Finding] = set()
    for rule in rules:
        findings.update(rule(recorded, current))
    return CheckReport(tuple(sorted(findings, key=Finding.sort_key)))
