"""`require(DIR, distributed=True)`: every rank of a torch.distributed job checks itself, the
ranks exchange their reports, and all of them return or all raise the same `CheckFailed`.

The exchange goes through the job's rendezvous store, never through a process group: a
collective that some rank does not reach deadlocks the job, and the default group (NCCL or
not, initialised or not) stays exactly as the job left it. Under torchrun the agent hosts the
store at MASTER_ADDR:MASTER_PORT and every rank is a client (``TORCHELASTIC_USE_AGENT_STORE``);
otherwise rank 0 hosts it as a multi-tenant store, the one `init_process_group("env://")` will
reuse, and keeps it open for the life of the process. Each rank sets its report under its own
key; rank 0 waits for all of them (with a timeout), compares them, prints the table and sets one
verdict, which every rank waits for and acts on: the same message everywhere, and store traffic
linear in the number of ranks. A rank that never calls `require` makes rank 0 publish the ranks
that are missing; when rank 0 itself is missing, the others give up after the timeout (plus a
grace for rank 0's own) and say so. Never a hang. torch is imported only here.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

from envsnap.errors import CheckFailed, EnvsnapError, InputError
from envsnap.findings import Report

from .aggregate import AS_EVERY, FleetResult, Problem, aggregate
from .report import NodeReport, ReportError, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["failure_message", "require_distributed"]

_KEPT: list[Any] = []  # rank 0's own store server must outlive every other rank's reads
_CALLS = [0]  # the n-th call on every rank uses the n-th set of keys


def _world(environ: Mapping[str, str]) -> tuple[int, int, str, int]:
    try:
        rank, world = int(environ["RANK"]), int(environ["WORLD_SIZE"])
        addr, port = environ["MASTER_ADDR"], int(environ["MASTER_PORT"])
    except (KeyError, ValueError):
        raise InputError(
            "require(distributed=True): RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT must be set",
            hint="start the script with torchrun (or set the variables as torch.distributed's "
            "env:// initialisation reads them)",
        ) from None
    if not 0 <= rank < world:
        raise InputError(f"require(distributed=True): RANK {rank} outside WORLD_SIZE {world}")
    return rank, world, addr, port


def _store(environ: Mapping[str, str], rank: int, addr: str, port: int, timeout: float) -> Any:
    from datetime import timedelta

    try:
        from torch.distributed import TCPStore
    except ImportError:
        raise InputError(
            "require(distributed=True) needs torch (torch.distributed)",
            hint="or check each node with `envsnap check DIR --save REPORTS` and `envsnap fleet`",
        ) from None
    agent = environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    host = not agent and rank == 0
    try:
        store = TCPStore(
            addr,
            port,
            is_master=host,
            timeout=timedelta(seconds=timeout),
            wait_for_workers=False,
            multi_tenant=True,
        )
    except Exception as exc:  # torch raises DistNetworkError or RuntimeError, by version
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckFailed(
            f"envsnap fleet check: cannot reach the rendezvous store at {addr}:{port}: {first}"
        ) from None
    if host:
        _KEPT.append(store)
    return store


def _local(directory: str | os.PathLike[str], python: str | None, rank: int) -> str:
    """This rank's report as JSON, or ``{"error": ...}`` when it could not check itself (the
    others must still hear from it, or they would wait for the timeout)."""
    from .node import check_node

    try:
        return check_node(directory, python=python).dumps()
    except EnvsnapError as exc:
        return json.dumps({"rank": rank, "error": exc.message})


def _wait(store: Any, keys: list[str], timeout: float) -> bool:
    from datetime import timedelta

    try:
        store.wait(keys, timedelta(seconds=timeout))
    except Exception:  # torch raises DistStoreError or RuntimeError, by version
        return False
    return True


def _verdict(store: Any, keys: list[str], timeout: float, strict: bool) -> dict[str, Any]:
    """Rank 0: wait for every rank's report, compare them, print the table, decide."""
    from .render import render

    if not _wait(store, keys, timeout):
        missing = [str(i) for i, k in enumerate(keys) if not store.check([k])]
        message = (
            f"envsnap fleet check: rank(s) {', '.join(missing) or '?'} of {len(keys)} did not "
            f"report within {timeout:g} s"
        )
        return {"ok": False, "message": message, "hint": _HINT}
    texts = [v.decode("utf-8", "replace") for v in store.multi_get(keys)]
    reports, problems = _parse_all(texts)
    result = aggregate(reports, problems, expected=len(keys))
    print(render(result), file=sys.stderr, flush=True)
    ok = result.ok(strict=strict)
    return {"ok": ok, "message": "" if ok else failure_message(result), "hint": None}


_HINT = (
    "every rank must call envsnap.require(..., distributed=True), at the same point of the script"
)


def _parse_all(texts: list[str]) -> tuple[list[NodeReport], list[Problem]]:
    reports: list[NodeReport] = []
    problems: list[Problem] = []
    for rank, text in enumerate(texts):
        try:
            reports.append(parse(text))
        except ReportError as exc:
            error = None
            with contextlib.suppress(ValueError, AttributeError):  # not JSON, or not a table
                error = json.loads(text).get("error")
            problems.append(Problem(f"rank {rank}", str(error or exc)))
    return reports, problems


def failure_message(result: FleetResult) -> str:
    """The one message that every rank raises: what every rank found alike, the failing nodes,
    then the disagreements."""
    lines = [f"  every rank: {f.code}: {f.message}" for f in result.shared if f.severity == "error"]
    lines += [
        f"  {n.node}: {n.verdict}: {n.first}" for n in result.incompatible if n.first != AS_EVERY
    ]
    lines += [f"  {f.code}: {f.message}" for f in result.report.errors]
    lines += [f"  {p.file}: {p.reason}" for p in result.problems if p.fatal]
    return f"envsnap fleet check failed on {len(result.nodes)} rank(s):\n" + "\n".join(lines)


def require_distributed(
    directory: str | os.PathLike[str],
    *,
    strict: bool = False,
    python: str | None = None,
    timeout: float = 300.0,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Check this rank, exchange reports with every rank, and raise the same `CheckFailed` on all
    of them when any rank fails (or, with *strict*, warns) or the ranks disagree."""
    env = os.environ if environ is None else environ
    rank, world, addr, port = _world(env)
    store = _store(env, rank, addr, port, timeout)
    _CALLS[0] += 1
    prefix = "/".join(
        (
            "envsnap-fleet",
            env.get("TORCHELASTIC_RUN_ID", ""),
            env.get("TORCHELASTIC_RESTART_COUNT", "0"),
            str(_CALLS[0]),
        )
    )
    mine = _local(directory, python, rank)
    store.set(f"{prefix}/{rank}", mine)
    if rank == 0:
        verdict = _verdict(store, [f"{prefix}/{r}" for r in range(world)], timeout, strict)
        store.set(f"{prefix}/verdict", json.dumps(verdict))
    # rank 0 may spend the whole timeout waiting for a late rank before it publishes
    elif not _wait(store, [f"{prefix}/verdict"], timeout + min(timeout, 60.0)):
        raise CheckFailed(
            "envsnap fleet check: rank 0 published no verdict "
            f"within {timeout + min(timeout, 60.0):g} s",
            hint=_HINT,
        )
    else:
        verdict = json.loads(store.get(f"{prefix}/verdict"))
    if not verdict["ok"]:
        raise CheckFailed(verdict["message"], hint=verdict.get("hint"))
    own = _parse_all([mine])[0]
    return own[0].report if own else Report()
