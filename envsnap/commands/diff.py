"""`envsnap diff A B`: what changed between two captures, with the findings of `check`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from envsnap.checks.output import print_report

from .formatter import Formatter

__all__ = ["register", "run"]

HELP = """\
Compare capture A (the run that worked) with capture B (the run that did not), using the same
rules and severities as `envsnap check`: B is judged as the machine and environment to run on.

With a tracker, A and B are runs whose capture `envsnap log` (or log_capture in a script) logged:
  --mlflow  MLflow run IDs (their envsnap/ artifacts are downloaded);
  --wandb   W&B runs: a run folder (wandb/offline-run-*, wandb/run-*), a run ID with a folder
            under $WANDB_DIR/wandb (offline runs too), or ENTITY/PROJECT/ID on the server (its
            environment artifact; an ID alone asks the server in --project or WANDB_PROJECT);
  --aim     Aim run hashes in --repo (else the nearest .aim): their envsnap/ texts.

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
    p.add_argument("a", metavar="A", help="the recorded capture directory (or run)")
    p.add_argument("b", metavar="B", help="the capture directory (or run) to compare with A")
    p.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--mlflow", action="store_true", help="A and B are MLflow run IDs")
    which.add_argument("--wandb", action="store_true", help="A and B are W&B runs")
    which.add_argument("--aim", action="store_true", help="A and B are Aim run hashes")
    p.add_argument("--project", metavar="P", help="with --wandb: the project of bare run IDs")
    p.add_argument("--repo", metavar="PATH", help="with --aim: the Aim repository")
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Diff two captures (`envsnap.api.diff`); print the report; return the exit status."""
    from envsnap.api import diff

    from .log import tracker

    chosen = None
    if any(getattr(args, name, False) for name in ("mlflow", "wandb", "aim")) or any(
        getattr(args, name, None) is not None for name in ("project", "repo")
    ):
        chosen = tracker(args)
    report = diff(args.a, args.b, tracker=chosen, project=args.project, repo=args.repo)
    ok_line = f"envsnap: {args.a} and {args.b} match"
    return print_report(report, json_output=args.json, strict=args.strict, ok_line=ok_line)
