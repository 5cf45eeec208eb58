"""The public Python API, and the one front door of the CLI: every verb is a typed function here
that does the work and returns a record, which `envsnap.commands` only formats.

Each function imports its layer lazily, so `import envsnap` costs almost nothing at job start.
"""

from __future__ import annotations

import os

from ._defaults import DEFAULT_DIR
from ._record import Record, record
from ._text import seconds

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

    from .findings import CheckReport
    from .fleet.aggregate import FleetResult
    from .fleet.nodereport import NodeReport
    from .formats.numerics import Numerics
    from .model import Snapshot
    from .publish import ReportResult
    from .rebuild import RebuildResult
    from .repro import ReproResult
    from .trackers.common import LogResult

    Progress = Callable[[str], None] | None

__all__ = [
    "DEFAULT_DIR",
    "TRACKERS",
    "Captured",
    "NodeChecked",
    "capture",
    "check",
    "check_node",
    "diff",
    "fleet",
    "log",
    "rebuild",
    "report",
    "repro",
    "require",
]

TRACKERS = ("mlflow", "wandb", "aim")


@record
class Captured(Record):
    """What `capture` did: the snapshot, the files it wrote into `output` (none when it wrote
    nothing), and with numerics the battery's result and its digest."""

    snapshot: Snapshot
    output: str = ""
    files: tuple[str, ...] = ()
    numerics: Numerics | None = None
    numerics_digest: str = ""


@record
class NodeChecked(Record):
    """What `check_node` did: the node's report and the file it was saved to. `clashes_with` is
    the file name of the node's name when that name is not itself a file name (a node of that
    name has its own file); empty otherwise."""

    report: NodeReport
    path: str
    clashes_with: str = ""


def capture(
    output: str | os.PathLike[str] | None = DEFAULT_DIR,
    *,
    python: str | None = None,
    offline: bool = False,
    project: str | os.PathLike[str] | None = None,
    numerics: bool = False,
    numerics_timeout: float | None = None,
    progress: Progress = None,
) -> Captured:
    """Capture this machine and the environment of *python*; write the files into *output*,
    with the git state of *project* (default: the working directory) in project.toml.

    With *numerics*, also run the numerics battery in *python* (at most *numerics_timeout*
    seconds, default 300) and write numerics.toml. *progress* is told each step. Pass
    ``output=None`` to capture without writing. `InputError` for a *project* that is no folder
    and for an *output* that is a Python package (it holds ``__init__.py``).
    """
    from pathlib import Path

    from .errors import InputError

    if project is not None and not Path(project).is_dir():
        raise InputError(f"{project}: --project folder not found")
    if output is not None and Path(output, "__init__.py").is_file():
        raise InputError(
            f"{output}: is a Python package (it holds __init__.py): capture into another "
            f"folder (the default is ./{DEFAULT_DIR})"
        )
    timeout = seconds(numerics_timeout, "--numerics-timeout")
    from .probes import capture as _capture

    snap = _capture(python, offline=offline, progress=progress)
    battery = None
    if numerics:
        from .numerics import TIMEOUT_S
        from .numerics import capture as run_battery

        if progress is not None:
            progress("running the numerics battery")
        battery = run_battery(python, timeout=timeout or TIMEOUT_S)
    if output is None:
        return Captured(snapshot=snap, numerics=battery, numerics_digest=_digest(battery))
    from .formats.capture import write
    from .probes import git

    rendered = None
    if battery is not None:  # the numerics writer is imported only when there is a battery
        from .formats.numerics import render

        rendered = render(battery)
    files = write(snap, output, numerics=rendered, project=git.probe(project))
    return Captured(
        snapshot=snap,
        output=os.fspath(output),
        files=files,
        numerics=battery,
        numerics_digest=_digest(battery),
    )


def _digest(battery: Numerics | None) -> str:
    if battery is None:
        return ""
    from .formats.numerics import digest

    return digest(battery)


def check(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    python: str | None = None,
    numerics: bool = False,
    numerics_timeout: float | None = None,
) -> CheckReport:
    """Compare this machine (and *python*'s environment) with the capture in *directory*.

    With *numerics*, re-run the recorded numerics battery in *python* (at most
    *numerics_timeout* seconds, default 300) and compare bit for bit; the report's ``numerics``
    then holds the summary (how many probes matched).
    """
    from .checks import check as _check

    timeout = seconds(numerics_timeout, "--numerics-timeout")
    return _check(directory, python=python, numerics=numerics, numerics_timeout=timeout)


def check_node(
    directory: str | os.PathLike[str],
    reports: str | os.PathLike[str],
    *,
    node: str | None = None,
    python: str | None = None,
    numerics: bool = False,
    numerics_timeout: float | None = None,
) -> NodeChecked:
    """`check`, saved as this node's report (named *node*, default: from Slurm, torchrun or the
    host name) into the folder *reports* that `fleet` reads."""
    from .fleet.node import check_node as _check_node
    from .fleet.node import safe_name, save

    found = _check_node(
        directory,
        node=node,
        python=python,
        numerics=numerics,
        numerics_timeout=seconds(numerics_timeout, "--numerics-timeout"),
    )
    path = save(found, reports)
    clash = safe_name(found.node) if path.stem != found.node else ""
    return NodeChecked(report=found, path=str(path), clashes_with=clash)


def require(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    strict: bool = False,
    python: str | None = None,
    distributed: bool = False,
    timeout: float = 300.0,
) -> CheckReport:
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


def diff(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    *,
    tracker: str | None = None,
    project: str | None = None,
    repo: str | None = None,
) -> CheckReport:
    """Compare two captures: what changed from *a* (recorded) to *b* (current).

    With *tracker* (``mlflow``, ``wandb`` or ``aim``), *a* and *b* are runs whose capture was
    logged there (W&B run IDs in *project*, Aim hashes in the repository *repo*), fetched into
    a temporary folder first.
    """
    from .checks import diff as _diff

    if tracker is None:
        return _diff(a, b)
    import tempfile

    _tracker(tracker)
    with tempfile.TemporaryDirectory(prefix=f"envsnap-{tracker}-") as tmp:
        first = _fetch(tracker, str(a), f"{tmp}/a", project=project, repo=repo)
        second = _fetch(tracker, str(b), f"{tmp}/b", project=project, repo=repo)
        return _diff(first, second)


def _tracker(name: str) -> None:
    if name not in TRACKERS:
        from .errors import InputError

        raise InputError(f"{name!r:.40}: not a tracker (expected {', '.join(TRACKERS)})")


def _fetch(tracker: str, ref: str, dest: str, *, project: str | None, repo: str | None) -> Path:
    """The capture of run *ref* of *tracker*, in *dest* or where it already is."""
    if tracker == "mlflow":
        from .mlflow import download_capture as from_mlflow
        from .mlflow import quiet as quiet_mlflow

        quiet_mlflow()
        return from_mlflow(ref, dest)
    if tracker == "wandb":
        from .wandb import download_capture as from_wandb
        from .wandb import quiet

        quiet()
        return from_wandb(ref, dest, project=project)
    from .aim import download_capture as from_aim

    return from_aim(ref, dest, repo=repo)


def rebuild(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    tag: str | None = None,
    context: str | os.PathLike[str] | None = None,
    build: bool = True,
    wheelhouse: bool = True,
    base_image: str | None = None,
    ca_cert: str | os.PathLike[str] | None = None,
    venv: str | os.PathLike[str] | None = None,
    prefix: str | os.PathLike[str] | None = None,
    python: str | None = None,
    pin: bool = True,
    no_cache: bool = False,
    verbose: bool = False,
    progress: Progress = None,
    push: str | None = None,
    build_on_host: Iterable[str] = (),
    allow_missing: bool = False,
) -> RebuildResult:
    """Render (and build) a Docker image, or with *venv* a virtualenv, or with *prefix* a conda
    prefix (a conda capture), from the capture in *directory*; see `envsnap rebuild -h` and
    `envsnap.rebuild.rebuild`. `InputError` for options that do not go together (an image's
    options with *venv* or *prefix*, *no_cache* without *build*)."""
    from .errors import InputError

    if python and not venv:
        raise InputError("--python: only meaningful with --venv PATH")
    if prefix is not None:
        _prefix_alone(venv=venv, pin=pin, no_cache=no_cache, build=build, wheelhouse=wheelhouse)
    for flag, given in (("--no-pin", not pin), ("--no-cache", no_cache)):
        if given and venv:
            raise InputError(f"{flag}: only meaningful for an image (not with --venv)")
    if no_cache and not build:
        raise InputError("--no-cache: only meaningful when building (not with --no-build)")
    if not wheelhouse and venv:
        raise InputError("--fetch-in-build: not with --venv")
    from .rebuild import rebuild as _rebuild

    return _rebuild(
        directory,
        tag=tag,
        context=None if context is None else os.fspath(context),
        build=build,
        wheelhouse=wheelhouse,
        base_image=base_image,
        ca_cert=None if ca_cert is None else os.fspath(ca_cert),
        venv=None if venv is None else os.fspath(venv),
        prefix=None if prefix is None else os.fspath(prefix),
        python=python,
        pin=pin,
        no_cache=no_cache,
        verbose=verbose,
        progress=progress,
        push=push,
        build_on_host=tuple(build_on_host),
        allow_missing=allow_missing,
    )


def _prefix_alone(
    *, venv: object, pin: bool, no_cache: bool, build: bool, wheelhouse: bool
) -> None:
    """Refuse the options that do not go with ``--prefix`` (a host rebuild, like --venv)."""
    from .errors import InputError

    for flag, given in (
        ("--venv", venv is not None),
        ("--no-pin", not pin),
        ("--no-cache", no_cache),
        ("--no-build", not build),
        ("--fetch-in-build", not wheelhouse),
    ):
        if given:
            raise InputError(f"{flag}: not with --prefix (a conda prefix on this machine)")


def report(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    output: str | os.PathLike[str] | None = "REPRODUCIBILITY.md",
    *,
    verify: bool = False,
) -> ReportResult:
    """Write (or update) the reproducibility report *output* from the capture in *directory*;
    with ``output=None`` only render it. With *verify*, the pushed image is looked up in its
    registry by digest (the network)."""
    from .publish import write_report

    return write_report(directory, output, verify=verify)


def fleet(
    reports: str | os.PathLike[str] | None = None,
    *,
    expect: int | None = None,
    ray: str | None = None,
    spec: str | os.PathLike[str] = DEFAULT_DIR,
    timeout: float = 300.0,
) -> FleetResult:
    """Compare the node reports in the folder *reports* with the capture and with each other.

    With *ray* (a Ray cluster address, or ``auto``), first check every alive node of that
    cluster against the capture in *spec*, waiting at most *timeout* seconds (the reports are
    written into *reports* when given). *expect*: the number of nodes; one missing is an error.
    """
    from .errors import InputError

    if expect is not None and expect < 1:
        raise InputError(f"--expect {expect}: expected a positive number of nodes")
    if not timeout > 0:
        raise InputError(f"--timeout {timeout:g}: expected a positive number of seconds")
    from .fleet.aggregate import aggregate

    if ray is not None:
        from .fleet.ray import check_cluster

        found, problems = check_cluster(spec, address=ray, reports=reports, timeout=timeout)
    elif reports is None:
        raise InputError("REPORTS: a folder of node reports is needed (or --ray)")
    else:
        from .fleet.collect import collect

        found, problems = collect(reports)
    return aggregate(found, problems, expected=expect)


def log(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    tracker: str,
    run_id: str | None = None,
    project: str | None = None,
    repo: str | None = None,
    run_hash: str | None = None,
) -> LogResult:
    """Log the capture in *directory* to a run of *tracker* (``mlflow``: *run_id*; ``wandb``:
    *project* or *run_id*; ``aim``: *repo* and *run_hash*); see `envsnap log -h`."""
    _tracker(tracker)
    if tracker == "mlflow":
        from .mlflow import log_capture as log_mlflow

        return log_mlflow(directory, run_id)
    if tracker == "wandb":
        from .wandb import log_capture as log_wandb
        from .wandb import quiet

        quiet()
        return log_wandb(directory, project=project, run_id=run_id)
    from .aim import log_capture as log_aim

    return log_aim(directory, repo=repo, run_hash=run_hash)


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
    scratch: str | os.PathLike[str] | None = None,
    quiet: bool = True,
    verbose: bool = False,
) -> ReproResult:
    """Run *command* (an argv) *runs* times (default 2) in scratch copies of *workdir* (default:
    the working directory) and compare what it made: the *outputs* (files, folders or globs
    inside *workdir*), else every file a run created or changed.

    With *explain*, runs that differ are re-run under candidate settings to find the one that
    makes them agree. With *venv* (a venv folder or interpreter) or *image* (a Docker image),
    one run here is compared with one run there. The verdict is written to repro.toml in the
    capture folder *capture* (default ./envsnap-capture when it exists) unless *record* is
    False. The scratch copies go under *scratch* (default $TMPDIR) and are kept with *keep*.
    Raises `InputError` for bad input and `RunFailed` when a run fails.
    """
    from .errors import InputError

    if runs is not None and runs < 1:
        raise InputError(f"--runs: expected a positive count, got {runs}")
    if timeout is not None and not 0 < timeout < 1e9:
        raise InputError(f"--timeout: expected a positive number of seconds, got {timeout}")
    from .repro import Options, run

    opts = Options(
        command=tuple(command),
        runs=runs,
        outputs=tuple(outputs),
        explain=explain,
        venv=os.fspath(venv or ""),
        image=image or "",
        workdir=os.fspath(workdir or ""),
        capture=("" if not record else (os.fspath(capture) if capture is not None else None)),
        timeout=timeout,
        keep=keep,
        scratch=os.fspath(scratch or ""),
        quiet=quiet,
        verbose=verbose,
    )
    return run(opts)
