"""The public Python API: capture(), check(), require(), diff(), rebuild().

Each function imports its layer lazily, so `import envsnap` costs almost nothing at job start.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .findings import Report
    from .model import Snapshot
    from .repro import ReproResult

__all__ = ["DEFAULT_DIR", "capture", "check", "diff", "rebuild", "repro", "require"]

from ._defaults import DEFAULT_DIR


def capture(
    output: str | os.PathLike[str] | None = DEFAULT_DIR,
    *,
    python: str | None = None,
    offline: bool = False,
    project: str | os.PathLike[str] | None = None,
) -> Snapshot:
    """Capture this machine and the environment of *python*; write the files into *output*,
    with the git state of *project* (default: the working directory) in project.toml.

    Pass ``output=None`` to capture without writing.
    """
    from .formats.capture import write
    from .probes import capture as _capture
    from .probes import git

    snap = _capture(python, offline=offline)
    if output is not None:
        write(snap, output, project=git.probe(project))
    return snap


def check(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    python: str | None = None,
    numerics: bool = False,
) -> Report:
    """Compare this machine (and *python*'s environment) with the capture in *directory*.

    With *numerics*, re-run the recorded numerics battery in *python* and compare bit for bit;
    the report's ``numerics`` then holds the summary (how many probes matched).
    """
    from .checks import check as _check

    return _check(directory, python=python, numerics=numerics)


def require(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    strict: bool = False,
    python: str | None = None,
    distributed: bool = False,
    timeout: float = 300.0,
) -> Report:
    """Like `check`, but raise `CheckFailed` listing the errors (and warnings when *strict*).

    With *distributed* (every rank of a torch.distributed job, e.g. under torchrun, calls it at
    the same point), the ranks also exchange their reports through the job's rendezvous store:
    rank 0 prints the fleet table, and every rank raises the same `CheckFailed` when any rank
    fails or the ranks disagree, or all return. A rank that has not reported within *timeout*
    seconds makes the others raise, naming it.
    """
    if distributed:
        from .fleet.distributed import require_distributed

        return require_distributed(directory, strict=strict, python=python, timeout=timeout)
    from .checks import require as _require

    return _require(directory, strict=strict, python=python)


def diff(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> Report:
    """Compare two captures: what changed from *a* (recorded) to *b* (current)."""
    from .checks import diff as _diff

    return _diff(a, b)


def rebuild(directory: str | os.PathLike[str] = DEFAULT_DIR, **options: Any) -> Any:
    """Render (and build) a Docker image or virtualenv from the capture in *directory*."""
    from .rebuild import rebuild as _rebuild

    return _rebuild(directory, **options)


def repro(
    command: Sequence[str],
    *,
    runs: int | None = None,
    outputs: Sequence[str] = (),
    explain: bool = False,
    venv: str | os.PathLike[str] | None = None,
    image: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    capture: str | os.PathLike[str] | None = None,
    record: bool = True,
    timeout: float | None = None,
    keep: bool = False,
    quiet: bool = True,
) -> ReproResult:
    """Run *command* (an argv) *runs* times (default 2) in scratch copies of *workdir* (default:
    the working directory) and compare what it made: the *outputs* (files, folders or globs
    inside *workdir*), else every file a run created or changed.

    With *explain*, runs that differ are re-run under candidate settings to find the one that
    makes them agree. With *venv* (a venv folder or interpreter) or *image* (a Docker image),
    one run here is compared with one run there. The verdict is written to repro.toml in the
    capture folder *capture* (default ./envsnap-capture when it exists) unless *record* is
    False. Raises `InputError` for bad input and `RunFailed` when a run fails.
    """
    from .repro import Options, run

    opts = Options(
        command=tuple(command),
        runs=runs,
        outputs=tuple(outputs),
        explain=explain,
        venv=str(venv or ""),
        image=image or "",
        workdir=str(workdir or ""),
        capture=("" if not record else (str(capture) if capture is not None else None)),
        timeout=timeout,
        keep=keep,
        quiet=quiet,
    )
    return run(opts)
