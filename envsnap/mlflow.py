"""MLflow: log a capture to a run (artifacts under ``envsnap/``, searchable tags), fetch it back.

`log_capture` logs the capture's files as the run's artifacts under ``envsnap/`` and the facts
of the capture's view (`envsnap.trackers.view`) as tags that `mlflow.search_runs` can filter on
(``tags.`envsnap.gpu` = 'NVIDIA A100-SXM4-80GB'``), one ``envsnap.<fact>`` each, plus one
``envsnap.package.<name>`` per package (MLflow's "compare runs" then shows which packages
differ). `download_capture` fetches a run's capture back into a folder, so that `envsnap diff
--mlflow RUN_A RUN_B` compares two runs with the ordinary diff. MLflow (``mlflow-skinny`` is
enough) is an optional dependency, imported only here and only when called: the tracking server
comes from MLflow's own settings (``MLFLOW_TRACKING_URI``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._defaults import DEFAULT_DIR
from ._regex import lazy
from .errors import EnvsnapError, InputError
from .trackers.common import LogResult, failure, need
from .trackers.view import CAPTURE_FILES, View, as_text, view

__all__ = [
    "ARTIFACT_DIR",
    "CAPTURE_FILES",
    "LogResult",
    "download_capture",
    "log_capture",
    "quiet",
    "tags",
]

ARTIFACT_DIR = "envsnap"
_RUN_ID = lazy(r"^[A-Za-z0-9_-]{1,64}$")
_BATCH = 100  # MLflow takes at most 100 tags in one log_batch


def _import_mlflow() -> Any:
    return need("mlflow", "MLflow", "mlflow-skinny (or mlflow)")


def quiet() -> None:
    """Keep MLflow's progress bars ("Downloading artifacts: 100%|...", three per file, on
    stderr) out of envsnap's output (the command line's choice)."""
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"


def tags(directory: str | os.PathLike[str]) -> dict[str, str]:
    """The ``envsnap.*`` tags of the capture in *directory* (only facts that were captured)."""
    return _tags(view(directory))


def _tags(seen: View) -> dict[str, str]:
    out = {f"envsnap.{name}": as_text(value) for name, value in seen.facts.items()}
    out.update({f"envsnap.package.{name}": v for name, v in seen.packages.items()})
    return dict(sorted(out.items()))


def log_capture(
    directory: str | os.PathLike[str] = DEFAULT_DIR, run_id: str | None = None
) -> LogResult:
    """Log the capture in *directory* to MLflow run *run_id*.

    Without *run_id*: the active run (``mlflow.start_run()``, or ``MLFLOW_RUN_ID``), else a new
    run in the current experiment, which is ended again.
    """
    if run_id is not None and not _RUN_ID.match(run_id):
        raise InputError(f"--run-id: not an MLflow run id: {run_id!r:.80}")
    seen = view(directory)  # reads and validates the capture before anything is logged
    tag_values = _tags(seen)
    mlflow = _import_mlflow()
    try:
        active = mlflow.active_run()
        if run_id is None and active is None:
            with mlflow.start_run() as run:
                return _log(mlflow, run.info.run_id, seen, tag_values)
        return _log(mlflow, run_id or active.info.run_id, seen, tag_values)
    except EnvsnapError:
        raise
    except Exception as exc:  # whatever the client raises: its text is redacted
        raise failure("MLflow", exc) from None


def _log(mlflow: Any, run_id: str, seen: View, tag_values: dict[str, str]) -> LogResult:
    from mlflow.entities import RunTag

    client = mlflow.MlflowClient()
    for name, content in seen.files.items():  # what the door read, not a path (it may change)
        client.log_text(run_id, content, f"{ARTIFACT_DIR}/{name}")
    items = [RunTag(k, v) for k, v in tag_values.items()]
    for start in range(0, len(items), _BATCH):
        client.log_batch(run_id, tags=items[start : start + _BATCH])
    files = tuple(seen.files)
    return LogResult(tracker="MLflow", run_id=run_id, files=files, keys=tag_values, view=seen)


def download_capture(run_id: str, dest: str | os.PathLike[str]) -> Path:
    """Download run *run_id*'s ``envsnap/`` artifacts into *dest*; return the capture folder."""
    if not _RUN_ID.match(run_id):
        raise InputError(f"{run_id!r:.80}: not an MLflow run id")
    mlflow = _import_mlflow()
    client = mlflow.MlflowClient()
    try:
        names = {Path(f.path).name for f in client.list_artifacts(run_id, ARTIFACT_DIR)}
        if "pylock.toml" not in names:
            raise InputError(
                f"MLflow run {run_id} has no envsnap capture (no {ARTIFACT_DIR}/pylock.toml)",
                hint="log one with `envsnap log --mlflow --run-id RUN`",
            )
        out = Path(dest)
        out.mkdir(parents=True, exist_ok=True)
        for name in sorted(names & set(CAPTURE_FILES)):
            client.download_artifacts(run_id, f"{ARTIFACT_DIR}/{name}", str(out))
    except EnvsnapError:
        raise
    except Exception as exc:
        raise failure("MLflow", exc) from None
    return out
