"""Aim: log a capture to a run (params and texts), fetch it back for `envsnap diff --aim`.

`log_capture` sets the run param ``envsnap`` to the facts of the capture's view
(`envsnap.trackers.view`) with ``package`` (name -> version), so that Aim's queries and run
comparison see them (``run.envsnap.gpu == "NVIDIA A100-SXM4-80GB"``,
``run.envsnap.package["torch"]``), and tracks each capture file as an ``aim.Text`` named
``envsnap/<file>`` (the Text explorer shows it); a run with an artifacts URI
(``run.set_artifacts_uri``) also gets them as artifacts under ``envsnap/``. Aim's queries read the
repository's index, which `aim up` keeps: the run is indexed after logging so that a query sees
it at once. aim is an optional dependency, imported only here and only when called.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._defaults import DEFAULT_DIR
from ._regex import lazy
from .errors import EnvsnapError, InputError
from .trackers.common import LogResult, failure, need, restore
from .trackers.view import CAPTURE_FILES, View, view

__all__ = ["PARAM", "TEXT_PREFIX", "download_capture", "log_capture", "params"]

PARAM = "envsnap"
TEXT_PREFIX = "envsnap/"
_HASH = lazy(r"^[A-Za-z0-9_-]{1,64}$")


def _import_aim() -> Any:
    return need("aim", "Aim", "aim")


def params(seen: View) -> dict[str, Any]:
    """The value of the run param ``envsnap``: the facts and ``package``."""
    return {**seen.facts, "package": dict(seen.packages)}


def _remote_host(repo: str | None) -> tuple[str, ...]:
    """The host of a remote repository (``aim://host:port``): withheld from error lines."""
    if repo and "://" in repo:
        from urllib.parse import urlsplit

        try:
            return (urlsplit(repo).hostname or repo,)
        except ValueError:
            return (repo,)
    return ()


def log_capture(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    run: Any = None,
    *,
    repo: str | None = None,
    run_hash: str | None = None,
) -> LogResult:
    """Log the capture in *directory* to the Aim *run* (a script's own ``aim.Run``).

    Without *run*: the run *run_hash* in *repo* (Aim's default: the nearest ``.aim`` above the
    current folder), else a new run there; either is closed again.
    """
    if run_hash is not None and not _HASH.match(run_hash):
        raise InputError(f"--run-hash: not an Aim run hash: {run_hash!r:.80}")
    seen = view(directory)  # reads and validates the capture before anything is logged
    aim = _import_aim()
    try:
        if run is not None:
            return _log(aim, run, seen)
        started = aim.Run(
            run_hash=run_hash,
            repo=repo,
            system_tracking_interval=None,  # a run of one step: no background sampling
            capture_terminal_logs=False,
            log_system_params=False,
        )
        try:
            return _log(aim, started, seen)
        finally:
            started.close()
    except EnvsnapError:
        raise
    except Exception as exc:  # whatever aim raises: its text is redacted
        raise failure("Aim", exc, extra=_remote_host(repo)) from None


def _log(aim: Any, run: Any, seen: View) -> LogResult:
    value = params(seen)
    run[PARAM] = value
    for name, content in seen.files.items():  # what the door read, never the capture's path
        run.track(aim.Text(content), name=f"{TEXT_PREFIX}{name}")
        if run.artifacts_uri:
            _artifact(run, name, content)
    _index(run)
    repo = run.repo
    return LogResult(
        tracker="Aim",
        run_id=run.hash,
        files=tuple(seen.files),
        keys={PARAM: value},
        view=seen,
        location="" if repo.is_remote_repo else repo.path,
    )


def _artifact(run: Any, name: str, content: str) -> None:
    """Attach *content* as the artifact ``envsnap/NAME`` (Aim uploads a file: a private copy)."""
    import tempfile

    from ._io import write_atomic

    with tempfile.TemporaryDirectory(prefix="envsnap-aim-") as tmp:
        write_atomic(Path(tmp) / name, content)
        run.log_artifact(str(Path(tmp) / name), name=f"{TEXT_PREFIX}{name}", block=True)


def _index(run: Any) -> None:
    """Index *run* as `aim up` would, so that ``Repo.query_runs`` sees it now. Best effort: a
    running `aim up` holds the index and indexes the run itself."""
    if run.repo.is_remote_repo:
        return
    import contextlib

    from aim.sdk.index_manager import RepoIndexManager

    with contextlib.suppress(Exception):  # the index is Aim's cache; the run's data is written
        RepoIndexManager.get_index_manager(run.repo).index(run.hash)


def download_capture(
    run_hash: str, dest: str | os.PathLike[str], *, repo: str | None = None
) -> Path:
    """Write the capture logged to Aim run *run_hash* (in *repo*) into *dest*; return it."""
    if not _HASH.match(run_hash):
        raise InputError(f"{run_hash!r:.80}: not an Aim run hash")
    aim = _import_aim()
    try:
        from aim.storage.context import Context

        found = (aim.Repo.from_path(repo) if repo else aim.Repo.default_repo()).get_run(run_hash)
        if found is None:
            raise InputError(
                f"Aim run {run_hash} not found in the repository",
                hint="a run shows once indexed: `aim up`, or `aim storage reindex`",
            )
        contents = {}
        for name in CAPTURE_FILES:
            texts = found.get_text_sequence(f"{TEXT_PREFIX}{name}", Context({}))
            if texts:
                contents[name] = texts.values.last_value().data
    except EnvsnapError:
        raise
    except Exception as exc:
        raise failure("Aim", exc, extra=_remote_host(repo)) from None
    if "pylock.toml" not in contents:
        raise InputError(
            f"Aim run {run_hash} has no envsnap capture (no {TEXT_PREFIX}pylock.toml text)",
            hint="log one with `envsnap log --aim --run-hash HASH`",
        )
    return restore(contents, dest)
