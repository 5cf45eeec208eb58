"""`repro`: run the job, compare what it made, explain, compare environments, record.

The order of work: check the input (command found, image present, outputs well formed), run
the job N times here in scratch copies, compare the outputs; with --venv/--image run it once
there and compare with this machine's run (this machine's own runs must agree first); with
--explain re-run under candidate settings; write repro.toml into the capture folder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from envsnap._record import Record, record
from envsnap.errors import InputError

from . import crossenv, explain, scratch
from .command import check_found, parse, venv_python
from .compare import compare_output, digest_files, kind_of
from .compare.torchfile import Converter
from .places import Host, Image, Venv
from .progress import Progress
from .result import Explanation, OutputComparison, ReproResult, Side, Trial, verdict
from .runs import Outcome, RunFailed, Runner

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from envsnap.formats.capture import Capture
    from envsnap.numerics.remedies import Candidate

__all__ = ["Options", "run"]

EXPLAIN_RUNS = 3  # a fix is verified by this many runs that agree


@record
class Options(Record):
    """What to run and how (the keyword arguments of `envsnap.api.repro`)."""

    command: tuple[str, ...]
    runs: int | None = None  # default 2; 1 here with --venv/--image
    outputs: tuple[str, ...] = ()
    explain: bool = False
    venv: str = ""
    image: str = ""
    workdir: str = ""
    capture: str | None = None  # None: ./envsnap-capture when it exists; "": do not record
    timeout: float | None = None
    keep: bool = False
    scratch: str = ""
    quiet: bool = False
    verbose: bool = False


class _Work:
    """One repro: the job, its places, the runner, the outputs to compare."""

    def __init__(self, opts: Options, progress: Progress, root: Path) -> None:
        self.opts = opts
        self.progress = progress
        self.root = root
        self.workdir = _workdir(opts.workdir)
        self.job = parse(list(opts.command)).located(self.workdir)
        self.patterns = tuple(scratch.check_pattern(p) for p in opts.outputs)
        self.capture = _capture(opts.capture)  # read before hours of runs, not after
        self.host = Host()
        self.other = _other(opts)
        check_found(self.job, self.workdir, self.host.environ())
        if isinstance(self.other, Venv):
            check_found(self.other.job(self.job), self.workdir, self.other.environ())
        if isinstance(self.other, Image):
            _check_image(self.other.tag)
        echo = _echo if opts.verbose else None
        self.runner = Runner(
            self.job, self.workdir, root, progress=progress, timeout=opts.timeout, echo=echo
        )
        self.python = self.host.python(self.job, self.workdir)
        self.convert = Converter([self.python, sys.executable])
        self.notes: list[str] = []

    # -- runs and comparison

    def runs(self, place: Host, count: int, candidate: Candidate | None = None) -> list[Outcome]:
        return [self.one(place, i + 1, count, candidate) for i in range(count)]

    def one(self, place: Host, index: int, total: int, cand: Candidate | None = None) -> Outcome:
        out = self.runner.run(place, index, total, cand)
        if out.failure and cand is None:
            where = f" ({place.label})" if place.kind != "host" else ""
            raise RunFailed(
                f"run {index} of {total}{where} failed: {out.failure}; nothing compared",
                out.tail,
                out.record.returncode,
            )
        return out

    def outputs(self, outcomes: Sequence[Outcome]) -> list[str]:
        """The paths to compare: the declared ones, else everything a run created or changed."""
        if self.patterns:
            found: list[str] = []
            for pattern in self.patterns:
                hits = sorted({p for o in outcomes for p in scratch.match(pattern, list(o.files))})
                if not hits:
                    raise InputError(
                        f"--output {pattern}: no run made it (nothing in the working directory "
                        "matches it after the runs)",
                        hint="outputs are paths inside the working directory, where the job "
                        "writes them",
                    )
                found.extend(h for h in hits if h not in found)
            return found
        made = sorted({p for o in outcomes for p in o.made})
        if not made:
            raise InputError(
                f"{_show(self.job.argv)}: created or changed no file in {self.workdir}; "
                "nothing to compare",
                hint="declare what to compare with --output PATH (written inside the working "
                "directory)",
            )
        return made

    def compare(
        self, rels: Sequence[str], outcomes: Sequence[Outcome], *, quick: bool = False
    ) -> tuple[OutputComparison, ...]:
        """Compare each output across *outcomes*. *quick* (a trial only needs a yes or no):
        torch checkpoints, which need an interpreter with torch, are compared by digest when
        another output already differs."""
        conv = self.root / "converted"
        out: dict[str, OutputComparison] = {}
        costly = [r for r in rels if kind_of(Path(r)) == "torch"] if quick else []
        for rel in [r for r in rels if r not in costly] + costly:
            paths = [o.tree / rel if rel in o.files else None for o in outcomes]
            if rel in costly and any(not c.identical for c in out.values()):
                out[rel] = _by_digest(rel, paths)
                continue
            out[rel] = compare_output(rel, paths, scratch=conv, convert=self.convert)
            shutil.rmtree(conv, ignore_errors=True)
        return tuple(out[r] for r in rels)

    # -- explain

    def trial(self, place: Host, rels: Sequence[str], runs: int) -> Callable[[Candidate], Trial]:
        """Run the job *runs* times under a candidate; stop at the first disagreement."""

        def attempt(cand: Candidate) -> Trial:
            first = self.one(place, 1, runs, cand)
            try:
                if first.failure:
                    return Trial(cand.label, 1, False, failed=first.failure)
                for i in range(2, runs + 1):
                    other = self.one(place, i, runs, cand)
                    if other.failure:
                        self.runner.discard(other)
                        return Trial(cand.label, i, False, failed=other.failure)
                    comps = self.compare(rels, [first, other], quick=True)
                    self.runner.discard(other)
                    bad = tuple(c.path for c in comps if not c.identical)
                    if bad:
                        return Trial(cand.label, i, False, still=bad)
                return Trial(cand.label, runs, True)
            finally:
                self.runner.discard(first)

        return attempt

    def across(self, base: Outcome, rels: Sequence[str]) -> Callable[[Candidate], Trial]:
        """Run the other side once under a candidate; it agrees when it matches *base*."""
        assert self.other is not None
        other = self.other

        def attempt(cand: Candidate) -> Trial:
            run = self.one(other, 1, 1, cand)
            try:
                if run.failure:
                    return Trial(cand.label, 1, False, failed=run.failure)
                comps = self.compare(rels, [base, run], quick=True)
                bad = tuple(c.path for c in comps if not c.identical)
                return Trial(cand.label, 1, not bad, still=bad)
            finally:
                self.runner.discard(run)

        return attempt


def run(opts: Options, *, progress: Progress | None = None) -> ReproResult:
    """Run the repro described by *opts* (see `envsnap.api.repro`)."""
    progress = progress or Progress(quiet=opts.quiet)
    parent = opts.scratch or None
    if parent and not Path(parent).is_dir():
        raise InputError(f"--scratch {parent}: not a folder")
    root = Path(tempfile.mkdtemp(prefix="envsnap-repro-", dir=parent))
    try:
        work = _Work(opts, progress, root)
        result = _same_env(work) if work.other is None else _across(work)
        if opts.keep:
            result = _with_note(result, f"scratch copies kept in {root}")
        return _record(work, result)
    finally:
        if not opts.keep:
            shutil.rmtree(root, ignore_errors=True)


def _same_env(work: _Work) -> ReproResult:
    count = work.opts.runs if work.opts.runs is not None else 2
    if count < 2:
        raise InputError("--runs: at least 2 runs are needed to compare (or use --venv/--image)")
    outcomes = work.runs(work.host, count)
    rels = work.outputs(outcomes)
    comps = work.compare(rels, outcomes)
    for o in outcomes:
        work.runner.discard(o)
    ok = all(c.identical for c in comps)
    summary = verdict(comps, count)
    explanation = None
    if work.opts.explain and not ok:
        explanation = _explain_here(work, rels, count)
    elif work.opts.explain:
        work.notes.append("the runs agree: nothing to explain")
    side = Side(work.host.label, "host", work.python)
    return ReproResult(
        work.job.argv,
        ok,
        summary,
        tuple(o.record for o in outcomes),
        comps,
        (side,),
        explanation=explanation,
        notes=tuple(work.notes) + _gone(outcomes),
    )


def _explain_here(work: _Work, rels: Sequence[str], count: int) -> Explanation:
    from envsnap.probes import nvml

    installed = explain.frameworks(work.python) if work.python else {}
    gpu = bool(nvml.probe().devices)
    cands, skipped = explain.candidates(python=work.job.is_python, gpu=gpu, installed=installed)
    runs = max(count, EXPLAIN_RUNS)
    return explain.explain(cands, work.trial(work.host, rels, runs), skipped)


def _across(work: _Work) -> ReproResult:
    assert work.other is not None
    other = work.other
    count = work.opts.runs if work.opts.runs is not None else 1
    if count < 1:
        raise InputError("--runs: expected at least 1")
    here = work.runs(work.host, count)
    there = work.one(other, 1, 1)
    rels = work.outputs([*here, there])
    comps = work.compare(rels, [here[0], there])
    ok = all(c.identical for c in comps)
    runs = tuple(o.record for o in (*here, there))
    if not ok and count == 1:  # is this machine consistent with itself? Else nothing to blame
        here.append(work.one(work.host, 2, 2))
        runs = (*runs, here[-1].record)
    own = work.compare(rels, here) if len(here) > 1 else ()
    if own and not all(c.identical for c in own):
        summary = "not reproducible on this machine itself: " + verdict(
            own, len(here)
        ).removeprefix("not reproducible: ")
        work.notes.append(
            f"{other.label} was not judged: this machine's own runs differ "
            "(find the setting that makes them agree with --explain, without --venv/--image)"
        )
        return ReproResult(work.job.argv, False, summary, runs, own, notes=tuple(work.notes))
    summary = verdict(comps, 2, across=other.label)
    host_facts, why_host = crossenv.facts(work.host, work.job, work.workdir)
    other_facts, why_other = crossenv.facts(other, work.job, work.workdir)
    for why, side in ((why_host, work.host), (why_other, other)):
        if why:
            work.notes.append(f"numerics facts of {side.label} not read: {why}")
    causes = crossenv.causes(host_facts, other_facts) if not ok else ()
    if not ok and host_facts is not None and other_facts is not None and not causes:
        work.notes.append("no numerics fact differs between the two environments")
    explanation = None
    if work.opts.explain and not ok and host_facts is not None and other_facts is not None:
        from envsnap.numerics.remedies import fact_candidates

        cands = fact_candidates(host_facts, other_facts)
        cands = [c for c in cands if not c.settings or work.job.is_python]
        explanation = explain.explain(cands, work.across(here[0], rels), ())
        explanation = _target(explanation, f"{other.label} reproduces this machine's outputs")
    for o in (*here, there):
        work.runner.discard(o)
    sides = (
        crossenv.describe(work.host, work.python, host_facts),
        crossenv.describe(other, other.python(work.job, work.workdir), other_facts),
    )
    return ReproResult(
        work.job.argv,
        ok,
        summary,
        runs,
        comps,
        sides,
        causes,
        explanation,
        tuple(work.notes) + _gone([*here, there]),
    )


def _by_digest(rel: str, paths: Sequence[Path | None]) -> OutputComparison:
    """Whether an output's files are byte-identical, without reading their format."""
    files = [p for p in paths if p is not None and p.is_file() and not p.is_symlink()]
    sums = tuple(digest_files(files)) if len(files) == len(paths) else ()
    same = bool(sums) and len(set(sums)) == 1
    return OutputComparison(rel, kind_of(Path(rel)), same, sums, note="compared by digest")


def _target(expl: Explanation, target: str) -> Explanation:
    from envsnap._record import replace

    return replace(expl, target=target)


def _with_note(result: ReproResult, note: str) -> ReproResult:
    from envsnap._record import replace

    return replace(result, notes=(*result.notes, note))


def _gone(outcomes: Sequence[Outcome]) -> tuple[str, ...]:
    gone = sorted({p for o in outcomes for p in o.gone})
    if not gone:
        return ()
    from envsnap._text import some

    return (f"the job removed files of its working directory (in the scratch copy): {some(gone)}",)


def _capture(folder: str | None) -> Capture | None:
    """The capture to record into, read through the in door: *folder*'s (which must be a
    capture), ./envsnap-capture's when *folder* is None and it holds a lock, none when *folder*
    is "". Its lock and numerics.toml are what the verdict is recorded against."""
    import os

    from envsnap._defaults import DEFAULT_DIR
    from envsnap.formats.capture import load

    if folder == "":
        return None
    if folder is None:
        if not os.path.lexists(Path(DEFAULT_DIR, "pylock.toml")):
            return None
        folder = DEFAULT_DIR
    return load(folder, parts=("numerics",), slim=True)


def _record(work: _Work, result: ReproResult) -> ReproResult:
    """Write repro.toml into the capture folder, when there is one to write into."""
    if work.capture is None:
        return result
    from envsnap._record import replace
    from envsnap.formats import repro as repro_toml

    from .record import to_record

    path = repro_toml.write(work.capture.directory, to_record(result, work.capture))
    return replace(result, recorded=str(path))


def _workdir(given: str) -> Path:
    path = Path(given) if given else Path.cwd()
    if not path.is_dir():
        raise InputError(f"--workdir {given}: not a folder")
    return path.resolve()


def _other(opts: Options) -> Host | None:
    if opts.venv and opts.image:
        raise InputError("--venv and --image: compare with one other environment at a time")
    if opts.venv:
        exe, prefix = venv_python(opts.venv)
        place = Venv(exe, prefix)
        place.label = f"venv {opts.venv}"
        return place
    if opts.image:
        return Image(opts.image)
    return None


def _check_image(tag: str) -> None:
    from envsnap.engine import get_engine

    engine = get_engine("docker")
    try:
        found = engine.has_image(tag)
    finally:
        engine.close()
    if not found:
        raise InputError(
            f"--image {tag}: no such image on the Docker daemon",
            hint="build one from a capture with `envsnap rebuild -t TAG`",
        )


def _echo(line: str) -> None:
    from envsnap import _redact

    print(f"  | {_redact.text(line)}", file=sys.stderr, flush=True)


def _show(argv: Sequence[str]) -> str:
    import shlex

    from envsnap import _redact

    return _redact.text(shlex.join(argv))
