"""MLflow: log a capture to a run (artifacts under ``envsnap/``, searchable tags), fetch it back.

`log_capture` logs the capture's files as the run's artifacts under ``envsnap/`` and sets tags
that `mlflow.search_runs` can filter on (``tags.`envsnap.gpu` = 'NVIDIA A100-SXM4-80GB'``):
Python, GPU model and count, driver, CUDA, lock digest, numerics digest when measured, commit.
`download_capture` fetches a run's capture back into a folder, so that `envsnap diff --mlflow
RUN_A RUN_B` compares two runs with the ordinary diff. MLflow (``mlflow-skinny`` is enough) is
an optional dependency, imported only here and only when called: the tracking server comes from
MLflow's own settings (``MLFLOW_TRACKING_URI``, ...).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ._record import Record, record
from ._redact import text
from .api import DEFAULT_DIR
from .errors import EnvsnapError, InputError
from .formats.capture import KINDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .formats.capture import Capture

__all__ = ["ARTIFACT_DIR", "CAPTURE_FILES", "LogResult", "download_capture", "log_capture", "tags"]

ARTIFACT_DIR = "envsnap"
# The files of a capture that are logged (each only when present): every kind the in door reads.
CAPTURE_FILES = tuple(kind.name for kind in KINDS)
_MAX_TAG = 250
_MAX_ERROR = 500  # characters of an MLflow error shown, after its credentials are gone
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@record
class LogResult(Record):
    """What `log_capture` did: the run, the artifact files and the tags it set."""

    run_id: str
    files: tuple[str, ...]
    tags: dict[str, str]


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise EnvsnapError(
            "MLflow is not installed in this environment",
            hint="pip install mlflow-skinny (or mlflow)",
        ) from None
    return mlflow


def _value(value: str) -> str:
    """A tag value through the words door: credentials out, controls escaped, bounded."""
    return text(value, most=_MAX_TAG)


def tags(directory: str | os.PathLike[str], found: Capture | None = None) -> dict[str, str]:
    """The ``envsnap.*`` tags of the capture in *directory* (only facts that were captured;
    *found* is the capture when it was read already)."""
    from . import __version__
    from .formats.capture import load
    from .publish import facts

    found = load(directory) if found is None else found
    data = facts.gather(directory, found)
    env = data["environment"]
    hw = env["hardware"]
    out = {
        "envsnap.version": __version__,
        "envsnap.python": env["python"].split(" ")[-1],
        "envsnap.lock_digest": f"sha256:{env['lock_sha256']}",
        "envsnap.packages": str(env["packages"]),
    }
    groups = hw.get("gpus") or []
    out["envsnap.gpu_count"] = str(sum(g["count"] for g in groups))
    if groups:
        out["envsnap.gpu"] = ", ".join(g["name"] for g in groups)
    driver = found.hardware.gpus.driver_version if found.hardware else ""
    if driver:
        out["envsnap.driver"] = driver  # the facts keep only its major
    if hw.get("cuda_driver"):
        out["envsnap.cuda_driver"] = hw["cuda_driver"]
    cuda = next((f["cuda"] for f in env["frameworks"] if f["cuda"]), "")
    if cuda:
        out["envsnap.cuda"] = cuda
    if env["numerics"] is not None:
        out["envsnap.numerics_digest"] = f"sha256:{env['numerics']['digest']}"
    code = data["code"]
    if code is not None and code["commit"]:
        out["envsnap.commit"] = code["commit"]
        out["envsnap.dirty"] = "true" if code["dirty"] else "false"
    image = env["image"]
    if image is not None and image["pushed_digest"] and image["lock_matches"]:
        out["envsnap.image"] = image["pushed_digest"]
    return {key: _value(value) for key, value in sorted(out.items())}


def log_capture(
    directory: str | os.PathLike[str] = DEFAULT_DIR, run_id: str | None = None
) -> LogResult:
    """Log the capture in *directory* to MLflow run *run_id*.

    Without *run_id*: the active run (``mlflow.start_run()``, or ``MLFLOW_RUN_ID``), else a new
    run in the current experiment, which is ended again.
    """
    from .formats.capture import load

    found = load(directory)  # the in door: read and validated before anything is logged
    tag_values = tags(directory, found)
    files = {name: found.data[name].decode("utf-8") for name in CAPTURE_FILES if name in found.data}
    mlflow = _import_mlflow()
    from mlflow.exceptions import MlflowException

    if run_id is not None and not _RUN_ID.match(run_id):
        raise InputError(f"--run-id: not an MLflow run id: {run_id!r:.80}")
    try:
        active = mlflow.active_run()
        if run_id is None and active is None:
            with mlflow.start_run() as run:
                return _log(mlflow, run.info.run_id, files, tag_values)
        return _log(mlflow, run_id or active.info.run_id, files, tag_values)
    except MlflowException as exc:
        raise EnvsnapError(f"MLflow: {text(exc.message, most=_MAX_ERROR)}") from None


def _log(mlflow: Any, run_id: str, files: dict[str, str], tag_values: dict[str, str]) -> LogResult:
    from mlflow.entities import RunTag

    client = mlflow.MlflowClient()
    for name, content in files.items():  # what the door read, not the path (which may change)
        client.log_text(run_id, content, f"{ARTIFACT_DIR}/{name}")
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tag_values.items()])
    return LogResult(run_id=run_id, files=tuple(files), tags=tag_values)


def download_capture(run_id: str, dest: str | os.PathLike[str]) -> Path:
    """Download run *run_id*'s ``envsnap/`` artifacts into *dest*; return the capture folder."""
    if not _RUN_ID.match(run_id):
        raise InputError(f"{run_id!r:.80}: not an MLflow run id")
    mlflow = _import_mlflow()
    from mlflow.exceptions import MlflowException

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
    except MlflowException as exc:
        raise EnvsnapError(f"MLflow: {text(exc.message, most=_MAX_ERROR)}") from None
    return out
