"""`envsnap log --mlflow | --wandb | --aim`: log a capture to an experiment tracker run."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from ..api import TRACKERS

__all__ = ["register", "run"]

HELP = """\
Log the capture in DIR to an experiment tracker run. Every tracker gets the same facts, under
its own spelling: the GPU model and count, driver and CUDA (envsnap.gpu, envsnap.gpu_count,
envsnap.driver, envsnap.cuda_driver, envsnap.cuda), the framework builds, the git commit and
whether the tree was dirty, the determinism settings (and those missing), the lock and numerics
digests, the repro verdict when recorded, and every package's version; the capture's files are
attached.

--mlflow: tags envsnap.<fact> and envsnap.package.<name>, artifacts under envsnap/. The server is
MLflow's own setting (MLFLOW_TRACKING_URI). Without --run-id: MLFLOW_RUN_ID, else a new run in
the current experiment (MLFLOW_EXPERIMENT_NAME). Needs pip install mlflow-skinny.

--wandb: config envsnap/<fact> and envsnap/package, summary envsnap/<fact>, the files as the
artifact envsnap-capture of type environment (and in the run's files under envsnap/). A new run
in --project (else WANDB_PROJECT), or --run-id resumed. WANDB_MODE=offline keeps the run in
wandb/offline-run-* (`wandb sync` uploads it). Needs pip install wandb.

--aim: the run param envsnap (run.envsnap.gpu in Aim queries), the files as texts
envsnap/<file>. A new run in --repo (else the nearest .aim), or --run-hash resumed. Needs
pip install aim.
"""

# The options each tracker takes besides DIR and --json.
_OPTIONS = {"run_id": ("mlflow", "wandb"), "project": ("wandb",), "repo": ("aim",)}
_OPTIONS["run_hash"] = ("aim",)


def register(sub: Any) -> None:
    """Add the `log` sub-command to *sub*."""
    from ..api import DEFAULT_DIR
    from .formatter import Formatter

    p = sub.add_parser(
        "log",
        help="log a capture to an experiment tracker (MLflow, W&B, Aim)",
        description=HELP,
        formatter_class=Formatter,
    )
    p.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--mlflow", action="store_true", help="log to MLflow")
    which.add_argument("--wandb", action="store_true", help="log to Weights & Biases")
    which.add_argument("--aim", action="store_true", help="log to Aim")
    p.add_argument("--run-id", metavar="RUN", help="the MLflow or W&B run to log to")
    p.add_argument("--project", metavar="P", help="the W&B project of a new run")
    p.add_argument("--repo", metavar="PATH", help="the Aim repository (else the nearest .aim)")
    p.add_argument("--run-hash", metavar="H", help="the Aim run to log to")
    p.add_argument("--json", action="store_true", help="print the run, files and keys as JSON")
    p.set_defaults(func=run)


def tracker(args: SimpleNamespace) -> str:
    """The tracker named by *args* (`--mlflow`, `--wandb`, `--aim`); `InputError` for none or
    for an option of another tracker."""
    from ..errors import InputError

    chosen = next((name for name in TRACKERS if getattr(args, name, False)), None)
    if chosen is None:
        raise InputError("say which tracker to use: --mlflow, --wandb or --aim")
    for option, takers in _OPTIONS.items():
        if getattr(args, option, None) is not None and chosen not in takers:
            flag = "--" + option.replace("_", "-")
            raise InputError(f"{flag} goes with --{' or --'.join(takers)}, not --{chosen}")
    return chosen


def run(args: SimpleNamespace) -> int:
    """Log the capture (`envsnap.api.log`); print the run; return 0."""
    from ..api import log

    chosen = tracker(args)
    result = log(
        args.directory,
        tracker=chosen,
        run_id=args.run_id,
        project=args.project,
        repo=args.repo,
        run_hash=args.run_hash,
    )
    if args.json:
        data = {
            "version": 1,
            "tracker": chosen,
            "run_id": result.run_id,
            "location": result.location,
            "files": list(result.files),
            "keys": result.keys,
        }
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    import shlex

    from .._redact import text
    from .._text import plural

    seen = result.view
    shown = _near(result.location)
    where = f" in {text(shown)}" if shown else ""
    print(
        f"logged {text(str(args.directory))} to {result.tracker} run {result.run_id}{where}: "
        f"{plural(len(result.files), 'file')}, {plural(len(seen.facts), 'fact')}, "
        f"{plural(len(seen.packages), 'package version')}"
    )
    if chosen == "wandb" and result.location:
        print(f"offline: `wandb sync {text(shlex.quote(shown))}` uploads it")
    return 0


def _near(location: str) -> str:
    """*location* relative to the current folder when it is inside it (``wandb/offline-run-…``)."""
    import os

    if not location:
        return ""
    relative = os.path.relpath(location)
    return location if relative.startswith("..") else relative
