"""MLflow: log a capture to a run (artifacts under ``envsnap/``, searchable tags), fetch it back.

`log_capture` logs the capture's files as the run's artifacts under ``envsnap/`` and sets tags
that `mlflow.search_runs` can filter on (``tags.`envsnap.gpu` = 'NVIDIA A100-SXM4-80GB'``):
Python, GPU model and count, driver, CUDA, lock digest, numerics digest when measured, commit,
and the verdict of `envsnap repro` when repro.toml records one for this lock.
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
from .api import DEFAULT_DIR
from .errors import EnvsnapError, InputError

__all__ = ["ARTIFACT_DIR", "CAPTURE_FILES", "LogResult", "download_capture", "log_capture", "tags"]

ARTIFACT_DIR = "envsnap"
# The files of a capture that are logged (each only when present, as a regular file).
CAPTURE_FILES = (
    "pylock.toml",
    "requirements.txt",
    "hardware.toml",
    "conda-lock.yml",
    "project.toml",
    "image.toml",
    "numerics.toml",
    "repro.toml",
)
_MAX_FILE = 64 * 1024 * 1024
_MAX_TAG = 250
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


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


def _value(text: str) -> str:
    return _UNSAFE.sub("?", text)[:_MAX_TAG]


def tags(directory: str | os.PathLike[str]) -> dict[str, str]:
    """The ``envsnap.*`` tags of the capture in *directory* (only facts that were captured)."""
    from . import __version__
    from .publish import facts

    data = facts.gather(directory)
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
    snap_gpus = _gpus(Path(directory))
    if snap_gpus.get("driver"):
        out["envsnap.driver"] = snap_gpus["driver"]
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
    out.update(_repro_tags(data.get("repro")))
    return {key: _value(value) for key, value in sorted(out.items())}


def _repro_tags(repro: dict[str, Any] | None) -> dict[str, str]:
    """``envsnap.repro`` (``reproducible`` / ``not reproducible``) and its one-line summary,
    from a verdict `envsnap repro` recorded with this capture's lock."""
    if repro is None or not repro["lock_matches"]:
        return {}
    verdict = "reproducible" if repro["reproducible"] else "not reproducible"
    return {"envsnap.repro": verdict, "envsnap.repro_summary": repro["summary"]}


def _gpus(root: Path) -> dict[str, str]:
    """The driver version from hardware.toml (the facts keep only its major)."""
    path = root / "hardware.toml"
    if not path.is_file():
        return {}
    from .checks._cache import load_hardware

    return {"driver": load_hardware(path).gpus.driver_version or ""}


def _files(root: Path) -> list[Path]:
    """The capture's files to log: regular files only (no symlink out of the capture)."""
    found = []
    for name in CAPTURE_FILES:
        path = root / name
        if path.is_symlink() or not path.exists():
            continue
        if not path.is_file() or path.stat().st_size > _MAX_FILE:
            raise InputError(f"{path}: not a regular file of at most 64 MiB")
        found.append(path)
    return found


def log_capture(
    directory: str | os.PathLike[str] = DEFAULT_DIR, run_id: str | None = None
) -> LogResult:
    """Log the capture in *directory* to MLflow run *run_id*.

    Without *run_id*: the active run (``mlflow.start_run()``, or ``MLFLOW_RUN_ID``), else a new
    run in the current experiment, which is ended again.
    """
    root = Path(directory)
    tag_values = tags(root)  # reads and validates the capture before anything is logged
    files = _files(root)
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
        raise EnvsnapError(f"MLflow: {_value(exc.message)}") from None


def _log(mlflow: Any, run_id: str, files: list[Path], tag_values: dict[str, str]) -> LogResult:
    from mlflow.entities import RunTag

    client = mlflow.MlflowClient()
    for path in files:
        client.log_artifact(run_id, str(path), ARTIFACT_DIR)
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tag_values.items()])
    return LogResult(run_id=run_id, files=tuple(p.name for p in files), tags=tag_values)


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
        raise EnvsnapError(f"MLflow: {_value(exc.message)}") from None
    return out
