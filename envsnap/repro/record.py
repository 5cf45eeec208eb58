"""The repro.toml record of a result: the verdict, the outputs' digests, the capture it ran
under (its lock and numerics digests), the command with credentials withheld."""

from __future__ import annotations

from envsnap._redact import command_line
from envsnap.formats.repro import OutputRecord, ReproRecord

from .result import ReproResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from envsnap.formats.capture import Capture

__all__ = ["to_record"]


def to_record(result: ReproResult, capture: Capture) -> ReproRecord:
    """The record of *result*, run with *capture* (its lock and numerics.toml, as read)."""
    numerics = ""
    if capture.numerics is not None:
        from envsnap.formats.numerics import digest

        numerics = "sha256:" + digest(capture.numerics)
    expl = result.explanation
    return ReproRecord(
        reproducible=result.reproducible,
        summary=result.summary,
        command=command_line(result.command),
        runs=len(result.runs),
        lock_digest=f"sha256:{capture.sha256('pylock.toml')}",
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
