"""`envsnap fleet --ray`: the node check on every alive node of a Ray cluster, one task each.

The capture's files are read here and sent with each task (nodes need not share a file
system); each task is pinned to its node with a hard `NodeAffinitySchedulingStrategy` and asks
for no CPU, so a busy node still answers. `ray` (the ``ray`` extra) is imported only here.
"""

from __future__ import annotations

import os
from pathlib import Path

from envsnap.errors import EnvsnapError, InputError

from .aggregate import Problem
from .nodereport import NodeReport, ReportError, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["capture_files", "check_cluster", "check_files"]


def capture_files(directory: str | os.PathLike[str]) -> dict[str, str]:
    """The capture's files (pylock.toml, hardware.toml, ...) as texts, read and validated
    through the in door: the same errors as `envsnap check` for a missing or broken capture."""
    from envsnap.formats.capture import load

    found = load(directory)
    return {name: data.decode("utf-8") for name, data in sorted(found.data.items())}


def check_files(files: dict[str, str], node: str, capture: str = "") -> str:
    """Run on a node: write the capture *files* to a temp folder, check, return the report JSON."""
    import tempfile

    from envsnap._io import write_atomic

    from .node import check_node

    with tempfile.TemporaryDirectory(prefix="envsnap-ray-") as tmp:
        for name, text in files.items():
            write_atomic(Path(tmp) / Path(name).name, text)
        return check_node(tmp, node=node, capture=capture).dumps()


def _names(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """Node id -> report name: the host name, with the id's start where hosts repeat."""
    hosts = [
        str(n.get("NodeManagerHostname") or n.get("NodeManagerAddress") or "node") for n in nodes
    ]
    return {
        n["NodeID"]: h if hosts.count(h) == 1 else f"{h}-{n['NodeID'][:8]}"
        for n, h in zip(nodes, hosts)
    }


def check_cluster(
    spec: str | os.PathLike[str],
    *,
    address: str = "auto",
    reports: str | os.PathLike[str] | None = None,
    timeout: float = 300.0,
) -> tuple[list[NodeReport], list[Problem]]:
    """Check every alive node of the Ray cluster at *address* against the capture in *spec*."""
    try:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    except ImportError:
        raise InputError("--ray needs the ray package", hint="pip install ray") from None
    files = capture_files(spec)
    if not ray.is_initialized():
        try:
            ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EnvsnapError(f"ray: cannot connect to {address}: {exc}") from None
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if not nodes:
        raise EnvsnapError(f"ray: the cluster at {address} has no alive node")
    names = _names(nodes)
    task = ray.remote(num_cpus=0, max_retries=0)(check_files)
    refs = {
        names[n["NodeID"]]: task.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote(files, names[n["NodeID"]], str(spec))
        for n in nodes
    }
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout)
    done = set(ready)
    found: list[NodeReport] = []
    problems: list[Problem] = []
    for name, ref in sorted(refs.items()):
        if ref not in done:
            ray.cancel(ref, force=True)
            problems.append(Problem(f"ray node {name}", f"no answer within {timeout:g} s"))
            continue
        try:
            report = parse(ray.get(ref))
        except ReportError as exc:
            problems.append(Problem(f"ray node {name}", str(exc)))
            continue
        except Exception as exc:  # a task that raised: that node's problem, not the fleet's
            problems.append(Problem(f"ray node {name}", f"the check failed: {exc}".splitlines()[0]))
            continue
        found.append(report)
        if reports is not None:
            from .node import save

            save(report, reports)
    return found, problems
