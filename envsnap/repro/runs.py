"""Run the job once in a fresh scratch copy of the working directory, and see what it made."""

from __future__ import annotations

import shutil
from pathlib import Path

from envsnap._record import Record, record
from envsnap.errors import EnvsnapError

from . import scratch
from .result import RunRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from envsnap.numerics.remedies import Candidate

    from .command import Job
    from .places import Host
    from .progress import Progress

__all__ = ["Outcome", "RunFailed", "Runner"]


class RunFailed(EnvsnapError):
    """A run of the job failed: nothing is compared (exit 2); `tail` holds its last lines."""

    def __init__(self, message: str, tail: tuple[str, ...], returncode: int | None) -> None:
        super().__init__(message, hint="fix the command (it must succeed on its own), then retry")
        self.tail = tail
        self.returncode = returncode


@record
class Outcome(Record):
    """One finished run: its record, its scratch copy, and what it created, changed or removed."""

    record: RunRecord
    tree: Path
    made: tuple[str, ...]
    gone: tuple[str, ...]
    files: tuple[str, ...]  # every entry of the tree after the run
    tail: tuple[str, ...]
    failure: str = ""  # why it failed ("" when it exited 0)


class Runner:
    """Runs *job* from *workdir* in scratch copies under *root*, one per run."""

    def __init__(
        self,
        job: Job,
        workdir: Path,
        root: Path,
        *,
        progress: Progress,
        timeout: float | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.job = job
        self.workdir = workdir
        self.root = root
        self.progress = progress
        self.timeout = timeout
        self.echo = echo
        self.count = 0
        (root / "logs").mkdir(parents=True, exist_ok=True)

    def argv(self, place: Host, candidate: Candidate | None) -> tuple[str, ...]:
        """The command line that runs the job at *place* under *candidate*'s settings."""
        job = place.job(self.job)
        settings = dict(candidate.settings) if candidate is not None else {}
        if not settings:
            return job.argv
        from envsnap.numerics.runner import script_source

        return job.booted(settings, script_source(Path(__file__).with_name("boot.py")))

    def run(
        self, place: Host, index: int, total: int, candidate: Candidate | None = None
    ) -> Outcome:
        """Run the job once at *place* (run *index* of *total*, for the progress line)."""
        self.count += 1
        tree = self.root / f"run-{self.count}"
        label = candidate.label if candidate is not None else ""
        what = f"run {index} of {total}" + (f" ({place.label})" if place.kind != "host" else "")
        if label:
            what += f" with {label}"
        self.progress.start(what)
        copied = scratch.copy_tree(self.workdir, tree)
        if copied.skipped:
            self.progress.note(
                f"not copied (not a file, folder or link): {', '.join(copied.skipped[:5])}"
            )
        before = scratch.state(tree)
        done = place.execute(
            self.argv(place, candidate),
            tree=tree,
            cwd=tree,
            env=dict(candidate.env) if candidate is not None else {},
            log=self.root / "logs" / f"run-{self.count}.log",
            timeout=self.timeout,
            tick=self.progress.tick,
            echo=self.echo,
        )
        after = scratch.state(tree)
        made, gone = scratch.changes(before, after)
        failure = ""
        if done.error:
            failure = f"could not start ({done.error})"
        elif done.timed_out:
            failure = f"killed after its time limit of {self.timeout:g} s"
        elif done.returncode != 0:
            failure = f"exit status {done.returncode}"
        self.progress.done(what, done.seconds, failure)
        record = RunRecord(place.label, index, done.returncode, done.seconds, label)
        return Outcome(
            record, tree, tuple(made), tuple(gone), tuple(sorted(after)), done.tail, failure
        )

    def discard(self, outcome: Outcome) -> None:
        """Remove a run's scratch copy (its outputs have been compared)."""
        shutil.rmtree(outcome.tree, ignore_errors=True)
