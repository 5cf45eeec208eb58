"""`envsnap check`: will this machine run the recorded job, and compute the same numbers?"""

from __future__ import annotations

import json
import os
import sys

from ._options import Option, Positional, add_arguments

TYPE_CHECKING = False  # `typing` costs ~4 ms of each start; mypy and ruff read this name
if TYPE_CHECKING:
    from types import SimpleNamespace
    from typing import Any, TextIO

    from envsnap.checks.findings import Report

__all__ = ["OPTIONS", "POSITIONAL", "print_report", "register", "run"]

HELP = """\
Compare this machine, and the environment of this interpreter (or --python PATH), with the
capture in DIR (default ./envsnap: pylock.toml, hardware.toml, conda-lock.yml).

  error    the job will not run, or not as recorded (driver too old, no kernels for this GPU,
           missing package, another Python, ...)
  warning  it runs, but may compute different numbers or be much slower (another GPU model,
           TF32, missing determinism variables, another BLAS or SIMD level, ...)
  info     harmless drift

Exit status: 0 no error (with --strict: no warning either), 1 otherwise, 2 bad input.
"""

_COLOURS = {"error": "31", "warning": "33", "info": "36"}


OPTIONS = (
    Option(("--python",), "python", "interpreter of the environment to check", metavar="PATH"),
    Option(("--json",), "json", "print the findings as one JSON object"),
    Option(("--strict",), "strict", "exit 1 on warnings too"),
    Option(
        ("--save",),
        "save",
        "also write this node's report into folder REPORTS (envsnap fleet)",
        metavar="REPORTS",
    ),
    Option(
        ("--node",),
        "node",
        "name of this node's report (default: from Slurm, torchrun or the host name)",
        metavar="NAME",
    ),
)
POSITIONAL = Positional("directory", "DIR", "default: ./envsnap", "envsnap")


def register(sub: Any) -> None:
    """Add the `check` sub-command to *sub*."""
    from ._formatter import Formatter

    p = sub.add_parser(
        "check",
        help="will this machine run the capture, and compute the same numbers?",
        description=HELP,
        formatter_class=Formatter,
    )
    add_arguments(p, OPTIONS, POSITIONAL)
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Check the machine against the capture; print the report; return the exit status."""
    # Imported here: the CLI registers every verb at start, and only `check` needs the engine.
    if args.save:
        from envsnap.fleet.node import check_node, save

        node = check_node(args.directory, node=args.node, python=args.python)
        save(node, args.save)
        report = node.report
    else:
        from envsnap.checks import check

        report = check(args.directory, python=args.python)
    ok_line = f"envsnap: this machine matches the capture in {args.directory}"
    return print_report(report, json_output=args.json, strict=args.strict, ok_line=ok_line)


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _paint(text: str, severity: str, colour: bool) -> str:
    return f"\033[{_COLOURS[severity]}m{text}\033[0m" if colour else text


def render_text(report: Report, *, colour: bool = False) -> str:
    """The findings as an aligned table: one row per finding, then its expected/actual and fix."""
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
    report: Report,
    *,
    json_output: bool,
    strict: bool,
    ok_line: str,
    stream: TextIO | None = None,
) -> int:
    """Print *report* as JSON or as text (one *ok_line* when empty); return 0 or 1."""
    out = stream or sys.stdout
    if json_output:
        # Insertion order is the documented order (version, compatible, findings), and fixed.
        print(json.dumps(report.to_dict(), indent=2), file=out)
    elif not report.findings:
        print(ok_line, file=out)
    else:
        print(render_text(report, colour=_use_colour(out)), file=out)
    return report.exit_code(strict=strict)
