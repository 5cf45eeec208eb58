"""This node's side of a fleet check: check it, name it, and save its report atomically.

`node_name` picks the name from the scheduler's variables (pure, given the environment);
`report_name` makes any name a file name of its own (two names never share one); `check_node`
runs the ordinary check and keeps what the fleet needs; `save` writes ``REPORTS/<name>.json``
through a temp file and a rename, so `envsnap fleet` never reads half a report.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from envsnap import __version__
from envsnap.model import Snapshot

from .._regex import lazy
from .fingerprint import fingerprint, package_digest, package_versions
from .nodereport import KIND, NodeReport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from envsnap.findings import CheckReport

__all__ = [
    "check_node",
    "node_name",
    "numerics_digest",
    "report_name",
    "safe_name",
    "save",
    "snapshot_report",
]

_UNSAFE = lazy(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 120


def safe_name(name: str) -> str:
    """*name* as a file name: ``[A-Za-z0-9._-]``, no leading ``._-``, 120 characters at most."""
    cleaned = _UNSAFE.sub("_", name).lstrip("._-")[:_MAX_NAME]
    return cleaned or "node"


def report_name(name: str) -> str:
    """The file name (without ``.json``) of node *name*'s report: *name* itself when it is a
    `safe_name` already, else its safe form with 8 hex digits of its sha256, so that ``a/b``
    and ``a_b``, which sanitise alike, never write one file (no lock needed across nodes)."""
    safe = safe_name(name)
    if safe == name:
        return safe
    import hashlib

    return f"{safe}-{hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


def _one_task_per_node(spec: str) -> bool:
    """True when a Slurm tasks-per-node list (``1(x4)``, ``2,1``) has one task on every node."""
    return bool(spec) and all(part.split("(")[0] == "1" for part in spec.split(","))


def node_name(environ: Mapping[str, str], hostname: str) -> str:
    """The name of this node's report: Slurm's node name (with the task id when a node runs
    several tasks), else the host with torchrun's global rank when a host runs several ranks,
    else the host name."""
    host = environ.get("SLURMD_NODENAME") or hostname
    if "SLURM_PROCID" in environ:
        per_node = environ.get("SLURM_STEP_TASKS_PER_NODE") or environ.get(
            "SLURM_TASKS_PER_NODE", ""
        )
        if _one_task_per_node(per_node):
            return host
        return f"{host}-task{environ['SLURM_PROCID']}"
    if "RANK" in environ and environ.get("LOCAL_WORLD_SIZE", "") != "1":
        return f"{hostname}-rank{environ['RANK']}"
    return hostname


def numerics_digest(directory: str | os.PathLike[str]) -> str | None:
    """The numerics digest of the ``numerics.toml`` in *directory* (read through the in door,
    so a bad file is an `InputError` naming it), or None when there is none."""
    from envsnap.formats.numerics import FILENAME, digest, load

    path = Path(directory) / FILENAME
    if not os.path.lexists(path):  # a link or FIFO is there, and refused
        return None
    return digest(load(path))


def snapshot_report(
    recorded: Snapshot,
    current: Snapshot,
    *,
    node: str,
    capture: str = "",
    host: str = "",
    rank: str = "",
    numerics: str | None = None,
    capture_numerics: str | None = None,
    created_at: str = "",
    report: CheckReport | None = None,
) -> NodeReport:
    """The report of *current* checked against *recorded* (pure: the rules and the fingerprint).

    *numerics* is this node's numerics digest; *capture_numerics* the capture's, which joins
    the capture's identity (nodes checked against different numerics records disagree).
    *report* is the check's own when it ran already (`envsnap.checks.check_snapshot`); else
    the rules run here."""
    from envsnap.checks.runner import run

    rec = package_versions(recorded.environment)
    cur = package_versions(current.environment)
    differ = tuple(
        (name, rec.get(name, ""), cur.get(name, "missing"))
        for name in sorted(rec.keys() | cur.keys())
        if rec.get(name) != cur.get(name)
    )
    fp = fingerprint(current, numerics=numerics)
    fp["capture"] = package_digest(rec)
    if capture_numerics:
        fp["capture"] = package_digest({"": fp["capture"], "numerics": capture_numerics})
    return NodeReport(
        node=node,
        report=run(recorded, current) if report is None else report,
        fingerprint=tuple(sorted(fp.items())),
        differ=differ,
        host=host,
        rank=rank,
        capture=capture,
        created_at=created_at,
        created_by=f"envsnap {__version__}",
    )


def check_node(
    directory: str | os.PathLike[str],
    *,
    node: str | None = None,
    python: str | None = None,
    numerics: bool = False,
    numerics_timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
    capture: str | None = None,
) -> NodeReport:
    """Check this machine against the capture in *directory* and return its node report
    (*capture* names the capture in the report when *directory* is a copy of it).

    The check is `envsnap check`'s own (`envsnap.checks.check_snapshot`). With *numerics*, the
    recorded battery runs here too: its findings join the report and this node's numerics
    digest joins the fingerprint, so nodes that compute other bits disagree."""
    from envsnap.checks import check_snapshot

    env = os.environ if environ is None else environ
    host = socket.gethostname()
    checked = check_snapshot(
        directory, python=python, numerics=numerics, numerics_timeout=numerics_timeout
    )
    summary = checked.report.numerics
    return snapshot_report(
        checked.recorded,
        checked.current,
        node=node or node_name(env, host),
        capture=capture or str(directory),
        host=host,
        rank=env.get("RANK", env.get("SLURM_PROCID", "")),
        numerics=summary.current_digest if summary is not None else None,
        capture_numerics=numerics_digest(directory),
        created_at=checked.current.environment.created_at,  # when this machine was read
        report=checked.report,
    )


def save(report: NodeReport, reports: str | os.PathLike[str]) -> Path:
    """Write *report* to ``<reports>/<report_name(node)>.json`` through the out door (atomic,
    never through a link, never over a file that is not a node report); return the path."""
    from envsnap._io import write_atomic

    path = Path(reports) / f"{report_name(report.node)}.json"
    write_atomic(path, report.dumps(), ours=_node_report)
    return path


def _node_report(head: bytes) -> bool:
    """True when a file starting with *head* is a node report (what `save` may replace)."""
    return head.startswith(b'{"version":') and f'"kind":"{KIND}"'.encode() in head[:64]
