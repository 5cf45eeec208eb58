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

__all__ = ["AS_EVERY", "FleetResult", "NodeRow", "Problem", "aggregate", "natural_key"]


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
    """The nodes' verdicts, what differs between them, and the files that could not be read.

    `shared` holds the findings (warnings and errors) every node's own check found alike: the
    nodes agree with each other but all differ from the capture in them (a launcher's
    default, a variable set everywhere), said once instead of once per node."""

    nodes: tuple[NodeRow, ...]
    report: CheckReport
    problems: tuple[Problem, ...] = ()
    expected: int | None = None
    shared: tuple[Finding, ...] = ()

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
            "shared": [f.to_dict() for f in self.shared],
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


# A node's first problem when all it found is what every node found (`FleetResult.shared`).
AS_EVERY = "as every node (below)"


def _row(rep: NodeReport, shared: frozenset[Finding]) -> NodeRow:
    """The node's row; its first problem is one the other nodes do not share."""
    own = [f for f in rep.report.findings if f.severity != "info"]
    worst = next((f for f in own if f not in shared), None)
    first = AS_EVERY if own and worst is None else ""
    if worst is not None:
        first = worst.message + (f" ({worst.actual})" if worst.actual else "")
    return NodeRow(rep.node, rep.verdict, len(rep.report.errors), len(rep.report.warnings), first)


def _shared(reports: Sequence[NodeReport]) -> frozenset[Finding]:
    """The warnings and errors found alike by every node's check (two nodes or more)."""
    if len(reports) < 2:
        return frozenset()
    common = {f for f in reports[0].report.findings if f.severity != "info"}
    for rep in reports[1:]:
        common &= set(rep.report.findings)
        if not common:
            break
    return frozenset(common)


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


_PINS = 8  # pins in one pip command; past that the remedy names the lock to install instead


def _package_detail(
    groups: Sequence[tuple[str, list[str]]],
    differs: dict[str, tuple[tuple[str, str, str], ...]],
    capture: str,
) -> tuple[str, str]:
    """What the odd package sets change against the largest one, and the pip command that fixes
    them (a package at "missing" on the majority is to be removed). Many changes make no pip
    line: when the majority matches *capture*, its lock is what to install."""
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
    ordered = sorted(pins)
    if len(ordered) <= _PINS:
        remedy = f"pip install {' '.join(ordered)}" if ordered else ""
    elif not base and capture:  # the majority is the capture: install its lock
        lock = shlex.quote(f"{capture.rstrip('/')}/requirements.txt")
        remedy = f"pip install --no-deps --require-hashes -r {lock} ({len(ordered)} packages)"
    else:
        remedy = (
            f"pip install {' '.join(ordered[:_PINS])} and {len(ordered) - _PINS} more "
            "(`envsnap check` on the node lists each)"
        )
    return "; ".join(notes), remedy


def _variables(text: str) -> dict[str, str]:
    """The fingerprint's ``A=1 B=x y`` (sorted, a value may hold spaces) as a dict."""
    out: dict[str, str] = {}
    name = ""
    for word in text.split(" "):
        key, eq, value = word.partition("=")
        if eq and key.isupper() and key.replace("_", "").isalnum():
            name = key
            out[name] = value
        elif name:
            out[name] += f" {word}"
    return out


def _determinism_detail(groups: Sequence[tuple[str, list[str]]]) -> tuple[str, str]:
    """ "node-7 has OMP_NUM_THREADS=4 where 3 nodes have it unset": the variables the odd
    nodes set otherwise than the largest group, and the commands that bring them to it (quoted:
    values come from report files)."""
    base_names = groups[0][1]
    base = _variables(groups[0][0])
    majority = len(base_names) > len(groups[1][1])
    others = _plural(len(base_names)) if majority else some(sorted(base_names, key=natural_key))
    notes: list[str] = []
    fixes: list[str] = []
    for value, names in groups[1 : _MOST + 1]:
        odd = _variables(value)
        changed, commands = [], []
        for var in sorted(base.keys() | odd.keys()):
            want, have = base.get(var), odd.get(var)
            if want == have:
                continue
            now = f"{var}={have}" if have is not None else f"{var} unset"
            changed.append(f"{now} where {others} {_has(base_names)} {want or 'it unset'}")
            commands.append(f"export {var}={shlex.quote(want)}" if want else f"unset {var}")
        who = some(sorted(names, key=natural_key), 3)
        notes.append(f"{who} {_has(names)} {some(changed, 5)}")
        fixes.append(f"on {who}: {'; '.join(commands)}")
    return "; ".join(notes), "; ".join(fixes)


def _field_finding(
    field: Field,
    groups: list[tuple[str, list[str]]],
    differs: dict[str, tuple[tuple[str, str, str], ...]],
    captures: dict[str, str],
) -> Finding:
    groups.sort(key=lambda g: (-len(g[1]), g[0]))
    capture = captures.get(groups[0][0], "")  # the largest package set's capture folder
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
        detail, pip = _package_detail(groups, differs, capture)
        message, actual = f"{message} ({detail})", detail
        remedy = f"{pip} on {some(sorted(odd, key=natural_key), 3)}" if pip else remedy
    elif field.key == "determinism":
        message, remedy = _determinism_detail(groups)
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
    reports = list(reports)
    shared = _shared(reports)
    rows: list[NodeRow] = []
    by_fp: dict[tuple[tuple[str, str], ...], list[str]] = {}
    differs: dict[str, tuple[tuple[str, str, str], ...]] = {}
    captures: dict[str, str] = {}
    seen: dict[str, int] = {}
    for rep in reports:
        rows.append(_row(rep, shared))
        by_fp.setdefault(rep.fingerprint, []).append(rep.node)
        seen[rep.node] = seen.get(rep.node, 0) + 1
        digest = dict(rep.fingerprint).get("packages", NONE)
        differs.setdefault(digest, rep.differ)
        captures.setdefault(digest, rep.capture)
    found: list[Finding] = []
    fps = [(dict(fp), names) for fp, names in by_fp.items()]
    for field in FIELDS:
        values: dict[str, list[str]] = {}
        for fp, names in fps:
            values.setdefault(fp.get(field.key, NONE), []).extend(names)
        if len(values) > 1:
            found.append(_field_finding(field, list(values.items()), differs, captures))
    found.extend(_fleet_findings(len(rows), seen, expected))
    rows.sort(key=lambda r: natural_key(r.node))
    return FleetResult(
        nodes=tuple(rows),
        report=CheckReport(tuple(sorted(found, key=Finding.sort_key))),
        problems=tuple(sorted(problems, key=lambda p: natural_key(p.file))),
        expected=expected,
        shared=tuple(sorted(shared, key=Finding.sort_key)),
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
