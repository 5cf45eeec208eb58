"""`envsnap check`: will this machine run the recorded job, and compute the same numbers?"""

from __future__ import annotations

import json
import os
import sys

from .._defaults import DEFAULT_DIR
from ._options import Option, Positional, add_arguments

TYPE_CHECKING = False  # `typing` costs ~4 ms of each start; mypy and ruff read this name
if TYPE_CHECKING:
    from types import SimpleNamespace
    from typing import Any, TextIO

    from envsnap.checks.findings import Report
    from envsnap.errors import EnvsnapError

__all__ = ["OPTIONS", "POSITIONAL", "error_envelope", "print_report", "register", "run"]

HELP = """\
Compare this machine, and the environment of this interpreter (or --python PATH), with the
capture in DIR (default ./envsnap-capture: pylock.toml, hardware.toml, conda-lock.yml).

  error    the job will not run, or not as recorded (driver too old, no kernels for this GPU,
           missing package, another Python, ...)
  warning  it runs, but may compute different numbers or be much slower (another GPU model,
           TF32, missing determinism variables, another BLAS or SIMD level, ...)
  info     harmless drift

With --numerics, also re-run the numerics battery recorded by `capture --numerics` in this
interpreter (or --python PATH) and compare bit for bit: each differing probe is a warning that
names its likely cause and the setting verified to restore the recorded bits.

Exit status: 0 no error (with --strict: no warning either), 1 otherwise, 2 bad input.
"""

_COLOURS = {"error": "31", "warning": "33", "info": "36"}


OPTIONS = (
    Option(("--python",), "python", "interpreter of the environment to check", metavar="PATH"),
    Option(("--json",), "json", "print the findings as one JSON object"),
    Option(("--strict",), "strict", "exit 1 on warnings too"),
    Option(("--numerics",), "numerics", "re-run the recorded numerics battery, compare bits"),
    Option(
        ("--numerics-timeout",), "numerics_timeout", "battery time limit (default 300)", "SECONDS"
    ),
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
POSITIONAL = Positional("directory", "DIR", f"default: ./{DEFAULT_DIR}", DEFAULT_DIR)


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
    from envsnap.errors import EnvsnapError

    timeout = _seconds(args.numerics_timeout)
    try:
        if args.save:
            from envsnap.fleet.node import check_node, save

            node = check_node(
                args.directory,
                node=args.node,
                python=args.python,
                numerics=args.numerics,
                numerics_timeout=timeout,
            )
            save(node, args.save)
            report = node.report
        else:
            from envsnap.checks import check

            report = check(
                args.directory, python=args.python, numerics=args.numerics, numerics_timeout=timeout
            )
    except EnvsnapError as exc:
        if args.json:  # a program reading stdout gets an answer too; the CLI still exits 2
            print(json.dumps(error_envelope(exc), indent=2))
        raise
    ok_line = f"envsnap: this machine matches the capture in {args.directory}"
    return print_report(report, json_output=args.json, strict=args.strict, ok_line=ok_line)


def _seconds(text: str | None) -> float | None:
    """A --numerics-timeout value: positive seconds, else `InputError`."""
    if text is None:
        return None
    from envsnap.errors import InputError

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise InputError(f"--numerics-timeout: expected a positive number of seconds, got {text!r}")
    return value


def error_envelope(exc: EnvsnapError) -> dict[str, Any]:
    """The JSON answer to input that could not be checked: the report's keys, no findings,
    and the error (its message and hint)."""
    return {
        "version": 1,
        "compatible": False,
        "findings": [],
        "error": {"message": exc.message, "hint": exc.hint or "", "exit_code": exc.exit_code},
    }


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _paint(text: str, severity: str, colour: bool) -> str:
    return f"\033[{_COLOURS[severity]}m{text}\033[0m" if colour else text


def render_text(report: Report, *, colour: bool = False) -> str:
    """The findings as an aligned table: one row per finding, then its expected/actual and fix."""
    from envsnap._text import printable
    from envsnap.checks.findings import Finding, Report

    # Every field can hold a string from a capture, which may come from a stranger: escaped, so
    # that no ESC/BEL/CR or newline in a recorded value drives the terminal or forges a line.
    report = Report(
        findings=tuple(
            Finding(**{k: printable(v) for k, v in f.to_dict().items()}) for f in report.findings
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
        from envsnap._text import printable

        print(printable(ok_line), file=out)
    else:
        print(render_text(report, colour=_use_colour(out)), file=out)
    if report.numerics is not None and not json_output:
        print(report.numerics.line(), file=out)
    return report.exit_code(strict=strict)
