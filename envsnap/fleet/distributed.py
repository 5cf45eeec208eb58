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

The store has no access control: any participant can write any key. So rank 0 publishes its
verdict once, with an insert-only `compare_set` (a verdict someone else wrote first is
refused, and rank 0 never overwrites one), and acts on its own verdict, not the store's; the
other ranks read the verdict bounded and validated (a forged one of the wrong shape is one
`CheckFailed`, not a `TypeError`); and every rank raises on its own errors whatever the
verdict says. A rank's message is read through the in door's bounded JSON: one that is
malformed, nested too deeply or larger than `MAX_BYTES` is a problem naming that rank.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

from envsnap.errors import CheckFailed, EnvsnapError, InputError
from envsnap.findings import CheckReport

from .aggregate import FleetResult, Problem, aggregate
from .nodereport import MAX_BYTES, NodeReport, ReportError, parse

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
    from .table import render

    if not _wait(store, keys, timeout):
        missing = [str(i) for i, k in enumerate(keys) if not store.check([k])]
        message = (
            f"envsnap fleet check: rank(s) {', '.join(missing) or '?'} of {len(keys)} did not "
            f"report within {timeout:g} s"
        )
        return {"ok": False, "message": message, "hint": _HINT}
    reports, problems = _parse_all(list(store.multi_get(keys)))
    result = aggregate(reports, problems, expected=len(keys))
    print(render(result), file=sys.stderr, flush=True)
    ok = result.ok(strict=strict)
    return {"ok": ok, "message": "" if ok else failure_message(result), "hint": None}


_HINT = (
    "every rank must call envsnap.require(..., distributed=True), at the same point of the script"
)


def _parse_all(messages: list[bytes]) -> tuple[list[NodeReport], list[Problem]]:
    """Each rank's message (its index is its rank) as a report, or a `Problem` naming the
    rank: its own error, or why the message is not a report (too large, malformed, deep)."""
    from envsnap.formats.capture import json_value

    reports: list[NodeReport] = []
    problems: list[Problem] = []
    for rank, message in enumerate(messages):
        if len(message) > MAX_BYTES:  # before any decoding
            problems.append(Problem(f"rank {rank}", f"sent {len(message)} bytes: not a report"))
            continue
        text = message.decode("utf-8", "replace")
        try:
            reports.append(parse(text))
        except ReportError as exc:
            error = None
            with contextlib.suppress(InputError, AttributeError):  # not JSON, or not a table
                error = json_value(text, f"rank {rank}").get("error")
            why = error if isinstance(error, str) and error else str(exc)
            problems.append(Problem(f"rank {rank}", why))
    return reports, problems


def _publish(store: Any, key: str, verdict: dict[str, Any]) -> dict[str, Any]:
    """Rank 0: set *verdict* under *key* once, insert-only; the verdict to act on (a failure
    when someone else had written the key first: rank 0 never overwrites it)."""
    text = json.dumps(verdict).encode()
    stored = bytes(store.compare_set(key, b"", text))
    if stored == text:
        return verdict
    message = (
        "envsnap fleet check: the verdict was written by someone other than rank 0 before "
        "rank 0 published it; refused"
    )
    return {"ok": False, "message": message, "hint": _HINT}


def _read_verdict(data: bytes) -> dict[str, Any]:
    """The verdict rank 0 published, validated: `CheckFailed` when it is not one."""
    from envsnap.formats.capture import json_value

    why = f"{len(data)} bytes" if len(data) > MAX_BYTES else ""
    verdict: Any = None
    if not why:
        try:
            verdict = json_value(data.decode("utf-8", "replace"), "verdict")
        except InputError as exc:
            why = exc.message.removeprefix("verdict: ")
    if not why and not (
        isinstance(verdict, dict)
        and isinstance(verdict.get("ok"), bool)
        and isinstance(verdict.get("message", ""), str)
        and isinstance(verdict.get("hint"), (str, type(None)))
    ):
        why = "not a verdict"
    if why:
        raise CheckFailed(
            f"envsnap fleet check: the published verdict is malformed ({why}); refused", hint=_HINT
        )
    return dict(verdict)


def _own_errors(mine: str, strict: bool) -> CheckReport:
    """This rank's own report; `CheckFailed` when its own check failed, whatever the verdict."""
    reports, problems = _parse_all([mine.encode()])
    if problems:
        why = problems[0].reason
        raise CheckFailed(f"envsnap fleet check: this rank could not check itself: {why}")
    report = reports[0].report
    failing = report.errors + (report.warnings if strict else ())
    if failing:
        lines = [f"  {f.severity} {f.code}: {f.message}" for f in failing]
        raise CheckFailed(
            f"envsnap fleet check: this rank does not match the capture ({len(failing)} "
            "problem(s)):\n" + "\n".join(lines)
        )
    return report


def failure_message(result: FleetResult) -> str:
    """The one message that every rank raises: the failing nodes, then the disagreements."""
    lines = [f"  {n.node}: {n.verdict}: {n.first}" for n in result.incompatible]
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
) -> CheckReport:
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
        verdict = _publish(store, f"{prefix}/verdict", verdict)
    # rank 0 may spend the whole timeout waiting for a late rank before it publishes
    elif not _wait(store, [f"{prefix}/verdict"], timeout + min(timeout, 60.0)):
        raise CheckFailed(
            "envsnap fleet check: rank 0 published no verdict "
            f"within {timeout + min(timeout, 60.0):g} s",
            hint=_HINT,
        )
    else:
        verdict = _read_verdict(bytes(store.get(f"{prefix}/verdict")))
    if not verdict["ok"]:
        message = verdict.get("message") or "envsnap fleet check failed"
        raise CheckFailed(message, hint=verdict.get("hint"))
    return _own_errors(mine, strict)  # a rank that failed raises, whatever the verdict says
