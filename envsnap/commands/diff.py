"""`envsnap diff A B`: what changed between two captures, with the findings of `check`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from envsnap.checks.report import print_report

from ._formatter import Formatter

__all__ = ["register", "run"]

HELP = """\
Compare capture A (the run that worked) with capture B (the run that did not), using the same
rules and severities as `envsnap check`: B is judged as the machine and environment to run on.

With --mlflow, A and B are MLflow run IDs: their envsnap/ artifacts (logged by `envsnap log
--mlflow` or envsnap.mlflow.log_capture) are downloaded and compared.

Exit status: 0 no error (with --strict: no warning either), 1 otherwise, 2 bad input.
"""


def register(sub: Any) -> None:
    """Add the `diff` sub-command to *sub*."""
    p = sub.add_parser(
        "diff",
        help="what changed between two captures",
        description=HELP,
        formatter_class=Formatter,
    )
    p.add_argument("a", metavar="A", help="the recorded capture directory")
    p.add_argument("b", metavar="B", help="the capture directory to compare with A")
    p.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--mlflow", action="store_true", help="A and B are MLflow run IDs")
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Diff two captures; print the report; return the exit status."""
    # Imported here: the CLI registers every verb at start, and only `diff` needs the engine.
    from envsnap.checks import diff

    if getattr(args, "mlflow", False):
        import tempfile

        from envsnap.mlflow import download_capture

        with tempfile.TemporaryDirectory(prefix="envsnap-mlflow-") as tmp:
            a = download_capture(args.a, f"{tmp}/a")
            b = download_capture(args.b, f"{tmp}/b")
            report = diff(a, b)
    else:
        report = diff(args.a, args.b)
    ok_line = f"envsnap: {args.a} and {args.b} match"
    return print_report(report, json_output=args.json, strict=args.strict, ok_line=ok_line)
