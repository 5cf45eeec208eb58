"""The text and JSON rendering of a check report, shared by `envsnap check`, `envsnap diff`
and the fleet report: an aligned table of findings, escaped for the terminal."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # `typing` is not loaded on the check path; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import TextIO

    from ..findings import CheckReport

__all__ = ["print_report", "render_text"]

_COLOURS = {"error": "31", "warning": "33", "info": "36"}


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _paint(text: str, severity: str, colour: bool) -> str:
    return f"\033[{_COLOURS[severity]}m{text}\033[0m" if colour else text


def render_text(report: CheckReport, *, colour: bool = False) -> str:
    """The findings as an aligned table: one row per finding, then its expected/actual and fix."""
    from envsnap._redact import text
    from envsnap.findings import CheckReport, Finding

    # Every field can hold a string from a capture, which may come from a stranger: redacted and
    # escaped, so that no ESC/BEL/CR or newline in a recorded value drives the terminal or
    # forges a line, and no credential in it is shown.
    report = CheckReport(
        findings=tuple(
            Finding(**{k: text(v) for k, v in f.to_dict().items()}) for f in report.findings
        )
    )
    rows = [(f.severity, f.category, f.code, f.message) for f in report.findings]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    pad = " " * (sum(widths) + 6)
    lines: list[str] = []
    for f in report.findings:
        head = "  ".join(v.ljust(w) for v, w in zip((f.severity, f.category, f.code), widths))
        lines.append(_paint(head, f.severity, colour) + "  " + f.message)
        if f.expected or f.actual:
            lines.append(f"{pad}expected {f.expected or '-'}, found {f.actual or '-'}")
        if f.remedy:
            lines.append(f"{pad}fix: {f.remedy}")
    counts = [
        f"{len(report.errors)} error(s)",
        f"{len(report.warnings)} warning(s)",
        f"{len(report.infos)} info",
    ]
    verdict = "will not run as recorded" if report.errors else "runs; results may differ"
    if not report.errors and not report.warnings:
        verdict = "compatible"
    lines.append(f"{', '.join(counts)}: {verdict}")
    return "\n".join(lines)


def print_report(
    report: CheckReport,
    *,
    json_output: bool,
    strict: bool,
    ok_line: str,
    stream: TextIO | None = None,
) -> int:
    """Print *report* as JSON or as text (one *ok_line* when empty); return 0 or 1."""
    out = stream or sys.stdout
    if json_output:
        import json

        # Insertion order is the documented order (version, compatible, findings), and fixed.
        print(json.dumps(report.to_dict(), indent=2), file=out)
    elif not report.findings:
        from envsnap._redact import text

        print(text(ok_line), file=out)
    else:
        print(render_text(report, colour=_use_colour(out)), file=out)
    if report.numerics is not None and not json_output:
        from envsnap._redact import text

        print(text(report.numerics.line()), file=out)
    return report.exit_code(strict=strict)
