"""The fleet as text: a table of the nodes' verdicts, what differs between them, skipped files.

Pure. Node names, values and file names come from report files that any node may have written:
everything printed goes through the words door (`envsnap._redact.text`), so no escape sequence
or credential reaches the terminal.
"""

from __future__ import annotations

from envsnap import _redact
from envsnap._record import replace
from envsnap.findings import CheckReport

from .aggregate import FleetResult

__all__ = ["render"]

_MAX_CELL = 100


def _cell(text: str) -> str:
    text = _redact.text(text)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "..."


def _table(result: FleetResult) -> list[str]:
    head = ("NODE", "VERDICT", "ERRORS", "WARNINGS", "FIRST PROBLEM")
    rows = [
        (_cell(n.node), n.verdict, str(n.errors), str(n.warnings), _cell(n.first))
        for n in result.nodes
    ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(4)]
    return [
        ("  ".join(v.ljust(w) for v, w in zip(r[:4], widths)) + "  " + r[4]).rstrip()
        for r in (head, *rows)
    ]


def _summary(result: FleetResult) -> str:
    count = len(result.nodes)
    verdicts = {v: sum(1 for n in result.nodes if n.verdict == v) for v in
                ("compatible", "differs", "incompatible")}  # fmt: skip
    shown = ", ".join(f"{k:,} {v}" for v, k in verdicts.items() if k)
    of = f" of {result.expected:,}" if result.expected is not None else ""
    parts = [f"{count:,}{of} node(s) reported ({shown or 'none'})"]
    between = result.report
    if between.errors:
        parts.append(f"{len(between.errors)} error(s) between the nodes")
    if between.warnings:
        parts.append(f"{len(between.warnings)} warning(s) between the nodes")
    if not between.findings:
        parts.append("the nodes agree with each other")
    skipped = sum(1 for p in result.problems if p.fatal)
    if skipped:
        parts.append(f"{skipped} report file(s) unreadable")
    return f"fleet {'ok' if result.ok() else 'FAILED'}: " + "; ".join(parts)


def render(result: FleetResult) -> str:
    """The whole text report (no trailing newline)."""
    from envsnap.checks.output import render_text

    lines = _table(result) if result.nodes else ["no node reports"]
    if result.report.findings:
        safe = CheckReport(
            tuple(
                replace(
                    f,
                    message=_redact.text(f.message),
                    expected=_redact.text(f.expected),
                    actual=_redact.text(f.actual),
                    remedy=_redact.text(f.remedy),
                )
                for f in result.report.findings
            )
        )
        # render_text's last line is check's verdict; the fleet's own summary line follows
        lines += ["", "between the nodes:", render_text(safe).rsplit("\n", 1)[0]]
    for p in result.problems:
        kind = "skipped" if p.fatal else "ignored"
        lines.append(f"{kind} {_redact.text(p.file)}: {_redact.text(p.reason)}")
    lines.append(_summary(result))
    return "\n".join(lines)
