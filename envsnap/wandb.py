"""Weights & Biases: log a capture to a run (config, summary, an ``environment`` artifact), fetch
it back for `envsnap diff --wandb`.

`log_capture` puts the facts of the capture's view (`envsnap.trackers.view`) into the run's
config as ``envsnap/<fact>`` with ``envsnap/package`` (name -> version: W&B's run comparison
shows which packages differ) and into its summary as ``envsnap/<fact>`` (the runs table), and
logs the capture's files as the artifact ``envsnap-capture`` of type ``environment`` (one version
per distinct capture, shared by the runs that used it). The files are also put in the run's own
folder under ``envsnap/``: they upload with the run (its Files tab), and they are what
`download_capture` reads from a run on this machine, an offline one included.

A run, to `download_capture`, is a run folder (``wandb/offline-run-…-ID``, ``wandb/run-…-ID``),
a run ID with such a folder under ``$WANDB_DIR/wandb`` (the newest), or else ``ENTITY/PROJECT/ID``
on the server (its ``environment`` artifact). wandb is an optional dependency, imported only
here and only when called; the server and key are wandb's own settings (``WANDB_API_KEY``,
``WANDB_BASE_URL``, ``WANDB_MODE=offline``...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._defaults import DEFAULT_DIR
from ._regex import lazy
from .errors import EnvsnapError, InputError
from .trackers.common import LogResult, failure, need
from .trackers.view import View, view

__all__ = [
    "ARTIFACT_NAME",
    "ARTIFACT_TYPE",
    "config",
    "download_capture",
    "log_capture",
    "quiet",
    "run_folder",
]

ARTIFACT_NAME = "envsnap-capture"
ARTIFACT_TYPE = "environment"
FILES_DIR = "envsnap"  # the capture's files in the run's folder (files/envsnap/...)
_ID = lazy(r"^[A-Za-z0-9_.-]{1,128}$")
_FOLDER = lazy(r"^(?:offline-)?run-[0-9]{8}_[0-9]{6}-(?P<id>[A-Za-z0-9_.-]{1,128})$")
_HINT = "set WANDB_API_KEY (or run `wandb login`), or WANDB_MODE=offline to keep runs here"


def _import_wandb() -> Any:
    return need("wandb", "wandb", "wandb")


def quiet() -> None:
    """Keep wandb's own terminal lines out of envsnap's output (the command line's choice): they
    name the server with its credentials ("Loaded credentials for https://user:key@host")."""
    os.environ["WANDB_SILENT"] = "true"


def config(seen: View) -> dict[str, Any]:
    """The run config keys of a view: ``envsnap/<fact>`` and ``envsnap/package``."""
    out: dict[str, Any] = {f"envsnap/{name}": value for name, value in seen.facts.items()}
    out["envsnap/package"] = dict(seen.packages)
    return out


def log_capture(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    run: Any = None,
    *,
    project: str | None = None,
    run_id: str | None = None,
) -> LogResult:
    """Log the capture in *directory* to the W&B *run* (a script's own ``wandb.run``).

    Without *run*: the active run (``wandb.run``), else a new run in *project* (wandb's default:
    ``WANDB_PROJECT``), or the run *run_id* resumed, which is finished again.
    """
    if run_id is not None and not _ID.match(run_id):
        raise InputError(f"--run-id: not a W&B run id: {run_id!r:.80}")
    seen = view(directory)  # reads and validates the capture before anything is logged
    wandb = _import_wandb()
    try:
        if run is None and run_id is None and wandb.run is not None:
            run = wandb.run
        if run is not None:
            return _log(wandb, run, seen)
        settings = wandb.Settings(silent=True, console="off")
        resume = "allow" if run_id else None
        started = wandb.init(project=project, id=run_id, resume=resume, settings=settings)
        try:
            return _log(wandb, started, seen)
        finally:
            started.finish()
    except EnvsnapError:
        raise
    except Exception as exc:  # whatever wandb raises: its text is redacted
        raise failure("W&B", exc, hint=_HINT) from None


def _log(wandb: Any, run: Any, seen: View) -> LogResult:
    from ._io import write_atomic

    keys = config(seen)
    run.config.update(keys, allow_val_change=True)
    run.summary.update({f"envsnap/{name}": value for name, value in seen.facts.items()})
    artifact = wandb.Artifact(ARTIFACT_NAME, type=ARTIFACT_TYPE, metadata=dict(seen.facts))
    folder = Path(run.dir) / FILES_DIR
    for name, content in seen.files.items():  # what the door read, never the capture's path
        copy = folder / name
        write_atomic(copy, content)
        artifact.add_file(str(copy), name=name)
        run.save(str(copy), base_path=run.dir, policy="now")
    run.log_artifact(artifact)
    offline = bool(getattr(run, "offline", False))
    return LogResult(
        tracker="W&B",
        run_id=run.id if offline else run.path,
        files=tuple(seen.files),
        keys=keys,
        view=seen,
        location=str(Path(run.dir).parent) if offline else "",
    )


def run_folder(ref: str) -> Path | None:
    """The folder on this machine of the W&B run *ref* (a run folder, or a run ID with one under
    ``$WANDB_DIR/wandb``, the newest), or None."""
    given = Path(ref)
    if given.is_dir():
        return given
    if not _ID.match(ref):
        return None
    base = Path(os.environ.get("WANDB_DIR") or ".") / "wandb"
    try:
        found = [
            p
            for p in base.iterdir()
            if (m := _FOLDER.match(p.name)) and m.group("id") == ref and p.is_dir()
        ]
    except OSError:
        return None
    # The name holds the start time: a resumed run has a folder per resumption.
    return max(found, key=lambda p: p.name.split("-", 2)[-1]) if found else None


def download_capture(ref: str, dest: str | os.PathLike[str], *, project: str | None = None) -> Path:
    """The capture of the W&B run *ref*: its folder's ``files/envsnap`` when the run is on this
    machine, else its ``environment`` artifact downloaded into *dest* (``ENTITY/PROJECT/ID``, or
    ``ID`` in *project* or ``WANDB_PROJECT``)."""
    local = run_folder(ref)
    if local is not None:
        capture = local / "files" / FILES_DIR
        if not (capture / "pylock.toml").is_file():
            raise InputError(
                f"{local}: no envsnap capture in this W&B run folder (no files/{FILES_DIR})",
                hint="log one with `envsnap log --wandb --run-id ID`",
            )
        return capture
    path = _server_path(ref, project)
    wandb = _import_wandb()
    try:
        run = wandb.Api(timeout=30).run(path)
        found = [a for a in run.logged_artifacts() if a.type == ARTIFACT_TYPE]
        if not found:
            raise InputError(
                f"W&B run {path} has no envsnap capture (no {ARTIFACT_TYPE} artifact)",
                hint="log one with `envsnap log --wandb --run-id ID`",
            )
        return Path(found[-1].download(root=str(dest)))
    except EnvsnapError:
        raise
    except Exception as exc:
        raise failure("W&B", exc, hint=_HINT) from None


def _server_path(ref: str, project: str | None) -> str:
    parts = ref.split("/")
    if len(parts) == 1 and _ID.match(ref):
        project = project or os.environ.get("WANDB_PROJECT")
        if not project:
            raise InputError(
                f"W&B run {ref}: no run folder for it under "
                f"{Path(os.environ.get('WANDB_DIR') or '.') / 'wandb'}, and no project to ask "
                "the server",
                hint="name the run folder, or ENTITY/PROJECT/ID, or set --project/WANDB_PROJECT",
            )
        entity = os.environ.get("WANDB_ENTITY")
        parts = [entity, project, ref] if entity else [project, ref]
    if not 2 <= len(parts) <= 3 or not all(_ID.match(p) for p in parts):
        raise InputError(f"{ref!r:.80}: not a W&B run (a run folder, ID or ENTITY/PROJECT/ID)")
    return "/".join(parts)
