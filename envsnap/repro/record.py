"""The repro.toml record of a result: the verdict, the outputs' digests, the capture it ran
under (its lock and numerics digests), the command with credentials withheld."""

from __future__ import annotations

from pathlib import Path

from envsnap._io import file_sha256
from envsnap._redact import command_line
from envsnap.formats.repro import OutputRecord, ReproRecord

from .result import ReproResult

__all__ = ["to_record"]


def to_record(result: ReproResult, lock: Path) -> ReproRecord:
    """The record of *result*, run with the capture whose pylock.toml is *lock*."""
    numerics = ""
    if (lock.parent / "numerics.toml").is_file():
        from envsnap.formats import numerics as fileformat

        numerics = "sha256:" + fileformat.digest(fileformat.load(lock.parent / "numerics.toml"))
    expl = result.explanation
    return ReproRecord(
        reproducible=result.reproducible,
        summary=result.summary,
        command=command_line(result.command),
        runs=len(result.runs),
        lock_digest=f"sha256:{file_sha256(lock)}",
        numerics_digest=numerics,
        outputs=tuple(
            OutputRecord(
                o.path,
                o.kind,
                o.identical,
                tuple(d for d in o.digests),
                "" if o.identical else o.summary(),
            )
            for o in result.outputs
        ),
        fixed_by=expl.fixed_by if expl else (),
        tried=tuple(t.label for t in expl.trials) if expl else (),
        environments=tuple((s.label, s.kind) for s in result.sides),
        causes=result.causes,
    )
