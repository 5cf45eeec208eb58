"""Aggregate node reports: each node against the capture, then the nodes against each other.

Pure. Reports are grouped by their whole fingerprint first (a fleet of thousands of nodes has a
handful of distinct fingerprints), and each field is compared across those groups only, so the
work after parsing is linear in the number of reports. Disagreements become ordinary findings,
named against the majority: "3 nodes have driver 535.104.05, node-7 has 550.54.15".
"""

from __future__ import annotations

import shlex

from envsnap._record import Record, record
from envsnap._text import some
from envsnap.findings import CheckReport, Finding

from .._regex import lazy
from .fingerprint import FIELDS, NONE, Field
from .nodereport import NodeReport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

__all__ = ["FleetResult", "NodeRow", "Problem", "aggregate", "natural_key"]


@record
class NodeRow(Record):
    """One node's verdict against the capture, and its worst finding."""

    node: str
    verdict: str
    errors: int
    warnings: int
    first: str = ""


@record
class Problem(Record):
    """A report file that was not used: *fatal* when it may hide a node (truncated, malformed)."""

    file: str
    reason: str
    fatal: bool = True


@record
class FleetResult(Record):
    """The nodes' verdicts, what differs between them, and the files that could not be read."""

    nodes: tuple[NodeRow, ...]
    report: CheckReport
    problems: tuple[Problem, ...] = ()
    expected: int | None = None

    @property
    def incompatible(self) -> tuple[NodeRow, ...]:
        """The nodes whose own check found an error."""
        return tuple(n for n in self.nodes if n.verdict == "incompatible")

    def ok(self, *, strict: bool = False) -> bool:
        """No incompatible node, no disagreement that matters, no unreadable report."""
        warned = strict and (self.report.warnings or any(n.warnings for n in self.nodes))
        return not (
            self.incompatible or self.report.errors or any(p.fatal for p in self.problems) or warned
        )

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when `ok`, else 1 (the exit codes of `envsnap check`)."""
        return 0 if self.ok(strict=strict) else 1

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON envelope of `envsnap fleet --json`."""
        return {
            "version": 1,
            "compatible": self.ok(),
            "expected": self.expected,
            "nodes": [
                {
                    "node": n.node,
                    "verdict": n.verdict,
                    "errors": n.errors,
                    "warnings": n.warnings,
                    "first": n.first,
                }
                for n in self.nodes
            ],
            "findings": [f.to_dict() for f in self.report.findings],
            "problems": [
                {"file": p.file, "reason": p.reason, "fatal": p.fatal} for p in self.problems
            ],
        }


_DIGITS = lazy(r"(\d+)")
_DIGESTS = ("capture", "packages", "numerics")
_MOST = 5  # values named in one finding; a fleet where every node differs gets "and N more"


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that puts node-2 before node-10."""
    return tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(name))


def _row(rep: NodeReport) -> NodeRow:
    worst = rep.report.findings[0] if rep.report.findings else None
    first = ""
    if worst is not None and worst.severity != "info":
        first = worst.message + (f" ({worst.actual})" if worst.actual else "")
    return NodeRow(rep.node, rep.verdict, len(rep.report.errors), len(rep.report.warnings), first)


def _plural(n: int) -> str:
    return f"{n:,} nodes" if n != 1 else "1 node"


def _describe(field: Field, groups: Sequence[tuple[str, list[str]]]) -> str:
    """ "3 nodes have driver X, node-7 has Y": the largest group by count, the others by name."""
    (value, names), rest = groups[0], groups[1:]
    majority = len(names) > len(rest[0][1])
    head = (
        f"{_plural(len(names))} have {field.label} {value}"
        if majority
        else f"{some(sorted(names, key=natural_key))} {_has(names)} {field.label} {value}"
    )
    tail = [f"{some(sorted(n, key=natural_key))} {_has(n)} {v}" for v, n in rest[:_MOST]]
    if len(rest) > _MOST:
        tail.append(f"and {len(rest) - _MOST} more value(s)")
    return ", ".join([head, *tail])


def _has(names: Sequence[str]) -> str:
    return "has" if len(names) == 1 else "have"


def _package_detail(
    groups: Sequence[tuple[str, list[str]]], differs: dict[str, tuple[tuple[str, str, str], ...]]
) -> tuple[str, str]:
    """What the odd package sets change against the largest one, and the pip command that fixes
    them (a package at "missing" on the majority is to be removed)."""
    base = {n: (rec, cur) for n, rec, cur in differs.get(groups[0][0], ())}
    notes: list[str] = []
    pins: set[str] = set()
    for digest, names in groups[1 : _MOST + 1]:
        odd = {n: (rec, cur) for n, rec, cur in differs.get(digest, ())}
        changed = []
        for pkg in sorted(base.keys() | odd.keys()):
            recorded = (base.get(pkg) or odd[pkg])[0]
            want = base[pkg][1] if pkg in base else recorded or "missing"
            have = odd[pkg][1] if pkg in odd else recorded or "missing"
            if want != have:
                changed.append(f"{pkg} {have} (others {want})")
                if want != "missing":  # names and versions come from report files: quoted
                    pins.add(shlex.quote(f"{pkg}=={want}"))
        who = some(sorted(names, key=natural_key), 3)
        notes.append(f"{who}: {some(changed, 5) or 'another package set'}")
    remedy = f"pip install {' '.join(sorted(pins))}" if pins else ""
    return "; ".join(notes), remedy


def _field_finding(
    field: Field,
    groups: list[tuple[str, list[str]]],
    differs: dict[str, tuple[tuple[str, str, str], ...]],
) -> Finding:
    groups.sort(key=lambda g: (-len(g[1]), g[0]))
    if field.key in _DIGESTS:  # a sha256 is named by its first 12 digits, as git does
        differs = {v[:12]: d for v, d in differs.items()}
        groups = [(v[:12], names) for v, names in groups]
    message = _describe(field, groups)
    odd = [n for _, names in groups[1:] for n in names]
    remedy = f"bring {some(sorted(odd, key=natural_key), 3)} to {field.label} {groups[0][0]}"
    actual = " / ".join(v for v, _ in groups[1 : _MOST + 1]) + (
        f" and {len(groups) - 1 - _MOST} more" if len(groups) - 1 > _MOST else ""
    )
    if field.key == "packages":
        detail, pip = _package_detail(groups, differs)
        message, actual = f"{message} ({detail})", detail
        remedy = f"{pip} on {some(sorted(odd, key=natural_key), 3)}" if pip else remedy
    return Finding(
        field.severity,
        field.category,
        f"fleet.{field.key}",
        f"{message}: {field.why}",
        groups[0][0],
        actual,
        remedy,
    )


def aggregate(
    reports: Iterable[NodeReport],
    problems: Sequence[Problem] = (),
    *,
    expected: int | None = None,
) -> FleetResult:
    """Compare every node with the capture (its own check) and with the other nodes."""
    rows: list[NodeRow] = []
    by_fp: dict[tuple[tuple[str, str], ...], list[str]] = {}
    differs: dict[str, tuple[tuple[str, str, str], ...]] = {}
    seen: dict[str, int] = {}
    for rep in reports:
        rows.append(_row(rep))
        by_fp.setdefault(rep.fingerprint, []).append(rep.node)
        seen[rep.node] = seen.get(rep.node, 0) + 1
        digest = dict(rep.fingerprint).get("packages", NONE)
        differs.setdefault(digest, rep.differ)
    found: list[Finding] = []
    fps = [(dict(fp), names) for fp, names in by_fp.items()]
    for field in FIELDS:
        values: dict[str, list[str]] = {}
        for fp, names in fps:
            values.setdefault(fp.get(field.key, NONE), []).extend(names)
        if len(values) > 1:
            found.append(_field_finding(field, list(values.items()), differs))
    found.extend(_fleet_findings(len(rows), seen, expected))
    rows.sort(key=lambda r: natural_key(r.node))
    return FleetResult(
        nodes=tuple(rows),
        report=CheckReport(tuple(sorted(found, key=Finding.sort_key))),
        problems=tuple(sorted(problems, key=lambda p: natural_key(p.file))),
        expected=expected,
    )


def _fleet_findings(count: int, seen: dict[str, int], expected: int | None) -> list[Finding]:
    found: list[Finding] = []
    twice = sorted((n for n, k in seen.items() if k > 1), key=natural_key)
    if twice:
        found.append(
            Finding(
                "error",
                "fleet",
                "fleet.duplicate",
                f"{some(twice)} reported more than once (two ranks or hosts with one name?)",
                "one report per node",
                f"{len(twice)} duplicated",
                "give each node its own name (--node NAME) and clear REPORTS between jobs",
            )
        )
    if expected is not None and count < expected:
        found.append(
            Finding(
                "error",
                "fleet",
                "fleet.missing",
                f"{expected - count} of {expected} node report(s) missing",
                str(expected),
                str(count),
                "look for nodes whose check did not run or could not write its report",
            )
        )
    elif expected is not None and count > expected:
        found.append(
            Finding(
                "warning",
                "fleet",
                "fleet.unexpected",
                f"{count} node reports where {expected} were expected (stale reports?)",
                str(expected),
                str(count),
                "clear REPORTS before each job",
            )
        )
    return found
