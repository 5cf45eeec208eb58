"""`envsnap log --mlflow`: log a capture to an experiment tracker run."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

__all__ = ["register", "run"]

HELP = """\
Log the capture in DIR to an experiment tracker. With --mlflow: the capture's files become the
run's artifacts under envsnap/, and tags (envsnap.python, envsnap.gpu, envsnap.gpu_count,
envsnap.driver, envsnap.cuda, envsnap.lock_digest, envsnap.numerics_digest, envsnap.commit...)
make runs searchable with mlflow.search_runs. The tracking server comes from MLflow's own
settings (MLFLOW_TRACKING_URI). Without --run-id: MLFLOW_RUN_ID, else a new run in the current
experiment (MLFLOW_EXPERIMENT_NAME). Needs MLflow installed (pip install mlflow-skinny).
"""


def register(sub: Any) -> None:
    """Add the `log` sub-command to *sub*."""
    from ..api import DEFAULT_DIR
    from ._formatter import Formatter

    p = sub.add_parser(
        "log",
        help="log a capture to an experiment tracker (MLflow)",
        description=HELP,
        formatter_class=Formatter,
    )
    p.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    p.add_argument("--mlflow", action="store_true", help="log to MLflow (the one tracker so far)")
    p.add_argument("--run-id", metavar="RUN", help="the MLflow run to log to")
    p.add_argument("--json", action="store_true", help="print the run, files and tags as JSON")
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Log the capture; print the run id; return 0."""
    from ..errors import InputError

    if not args.mlflow:
        raise InputError("say which tracker to log to: --mlflow")
    from ..mlflow import log_capture

    result = log_capture(args.directory, args.run_id)
    if args.json:
        data = {"version": 1, "run_id": result.run_id, "files": list(result.files)}
        data["tags"] = result.tags
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        from .._redact import text

        print(
            text(
                f"logged {len(result.files)} file(s) of {args.directory} and "
                f"{len(result.tags)} tags to MLflow run {result.run_id}"
            )
        )
    return 0
