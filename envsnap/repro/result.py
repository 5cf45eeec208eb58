"""What `envsnap repro` found, as frozen records, and the verdict line a person can act on.

`ReproResult.to_dict` is the ``--json`` envelope (``version`` 1); `verdict` writes the one line:
"reproducible: 2 runs, 3 outputs, 14 tensors bit-identical" or "not reproducible:
model.safetensors 12 of 14 tensors differ (max 4 ulps); metrics.json loss differs by 3e-07".
Every name in these records comes from the job's files: whoever prints them escapes them.
"""

from __future__ import annotations

from envsnap._record import Record, record
from envsnap._text import plural

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "JSON_VERSION",
    "Explanation",
    "OutputComparison",
    "ReproResult",
    "RunRecord",
    "Side",
    "TensorDiff",
    "Trial",
    "ValueDiff",
    "number",
]

JSON_VERSION = 1
_SHOWN = 3  # differences named per output in the verdict


def number(value: float) -> str:
    """A difference as a person reads it: ``3e-07``, ``0.25``, ``12``."""
    return f"{value:.2g}" if value and (abs(value) < 1e-3 or abs(value) >= 1e6) else f"{value:.4g}"


@record
class TensorDiff(Record):
    """One tensor of an output across the runs (the worst pair when there are more than two)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    identical: bool
    differing: int = 0  # elements whose bits differ
    max_abs: float | None = None
    max_rel: float | None = None
    max_ulps: int | None = None
    first_index: tuple[int, ...] | None = None
    note: str = ""  # "only in run 1", "shape (3, 4) in run 1, (4, 3) in run 2"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "identical": self.identical,
            "differing": self.differing,
            "max-abs": self.max_abs,
            "max-rel": self.max_rel,
            "max-ulps": self.max_ulps,
            "first-index": None if self.first_index is None else list(self.first_index),
            "note": self.note,
        }


@record
class ValueDiff(Record):
    """One value (a metric, a checkpoint's number) that differs, as text, with its distance."""

    key: str
    first: str
    other: str
    abs_diff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"key": self.key, "first": self.first, "other": self.other, "abs": self.abs_diff}


@record
class OutputComparison(Record):
    """One output file across the runs."""

    path: str  # relative to the working directory, "/" separated
    kind: str  # safetensors, torch, npy, npz, json, jsonl, yaml, csv, tsv, bytes, link, missing
    identical: bool  # the runs agree (bit for bit, or value for value for metrics)
    digests: tuple[str, ...] = ()  # sha256 per run; "" where the run made no such file
    tensors: tuple[TensorDiff, ...] = ()
    values: tuple[ValueDiff, ...] = ()
    values_compared: int = 0
    note: str = ""

    @property
    def differing_tensors(self) -> tuple[TensorDiff, ...]:
        """The tensors that are not identical."""
        return tuple(t for t in self.tensors if not t.identical)

    def summary(self) -> str:
        """``model.safetensors 12 of 14 tensors differ (max 4 ulps)`` (for a differing output)."""
        if self.identical:
            return f"{self.path} identical"
        parts = []
        bad = self.differing_tensors
        if bad:
            top: int = max((t.max_ulps or 0 for t in bad), default=0)
            worst = f" (max {plural(top, 'ulp')})" if top else ""
            parts.append(f"{len(bad)} of {plural(len(self.tensors), 'tensor')} differ{worst}")
        if self.values:
            parts.append(_values_text(self.values, self.values_compared))
        if not parts:
            parts.append(self.note or "differs")
        return f"{self.path} " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "path": self.path,
            "kind": self.kind,
            "identical": self.identical,
            "sha256": list(self.digests),
            "tensors": [t.to_dict() for t in self.tensors],
            "values": [v.to_dict() for v in self.values],
            "values-compared": self.values_compared,
            "note": self.note,
        }


def _values_text(values: tuple[ValueDiff, ...], compared: int) -> str:
    def one(v: ValueDiff) -> str:
        if v.abs_diff is not None:
            return f"{v.key} differs by {number(v.abs_diff)}"
        return f"{v.key} differs ({v.first} vs {v.other})"

    if len(values) == 1:
        return one(values[0])
    shown = ", ".join(one(v).replace(" differs", "") for v in values[:_SHOWN])
    more = f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else ""
    return f"{len(values)} of {compared} values differ ({shown}{more})"


@record
class RunRecord(Record):
    """One run of the job: where it ran, under what, and how it ended."""

    side: str  # the environment's label
    index: int
    returncode: int | None
    seconds: float
    setting: str = ""  # the candidate it ran under (--explain), "" for the plain runs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "side": self.side,
            "index": self.index,
            "returncode": self.returncode,
            "seconds": round(self.seconds, 3),
            "setting": self.setting,
        }


@record
class Trial(Record):
    """The job re-run under one candidate setting (--explain)."""

    label: str
    runs: int
    agreed: bool
    still: tuple[str, ...] = ()  # the outputs that still differ
    failed: str = ""  # a run under it failed: why

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "setting": self.label,
            "runs": self.runs,
            "agreed": self.agreed,
            "still-differ": list(self.still),
            "failed": self.failed,
        }


@record
class Explanation(Record):
    """What --explain tried, and which settings made every run agree."""

    trials: tuple[Trial, ...] = ()
    fixed_by: tuple[str, ...] = ()  # labels of the trials that agreed
    skipped: tuple[str, ...] = ()  # candidates not tried here, and why
    still: tuple[str, ...] = ()  # with no fix: the outputs that differ under every setting
    target: str = ""  # what a fix achieves: "every run agrees", "venv .v reproduces ..."

    def line(self) -> str:
        """``fix verified: PYTHONHASHSEED=0 (3 runs identical)``, or that nothing fixed it."""
        if self.fixed_by:
            runs = next(t.runs for t in self.trials if t.label == self.fixed_by[0])
            proof = self.target or f"{runs} runs identical"
            return f"fix verified: {' | '.join(self.fixed_by)} ({proof})"
        if not self.trials:
            return "no candidate setting to try here"
        still = ", ".join(self.still) or "the outputs"
        return (
            f"no candidate setting fixes it ({plural(len(self.trials), 'setting')} tried); "
            f"still differing: {still}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "fixed-by": list(self.fixed_by),
            "trials": [t.to_dict() for t in self.trials],
            "skipped": list(self.skipped),
            "still-differ": list(self.still),
            "line": self.line(),
        }


@record
class Side(Record):
    """An environment the job ran in: its label, interpreter and numerics dispatch facts."""

    label: str
    kind: str  # host, venv, image
    python: str = ""  # the interpreter (host, venv) or the image reference
    facts: tuple[tuple[str, str], ...] = ()  # the dispatch facts that can change results

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "label": self.label,
            "kind": self.kind,
            "python": self.python,
            "facts": dict(self.facts),
        }


@record
class ReproResult(Record):
    """Everything `repro` found; `reproducible` and `summary` are the verdict."""

    command: tuple[str, ...]
    reproducible: bool
    summary: str
    runs: tuple[RunRecord, ...] = ()
    outputs: tuple[OutputComparison, ...] = ()
    sides: tuple[Side, ...] = ()
    causes: tuple[str, ...] = ()  # across environments: the facts that differ
    explanation: Explanation | None = None
    notes: tuple[str, ...] = ()
    recorded: str = ""  # the repro.toml written, or ""

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` envelope."""
        return {
            "version": JSON_VERSION,
            "reproducible": self.reproducible,
            "summary": self.summary,
            "command": list(self.command),
            "runs": [r.to_dict() for r in self.runs],
            "outputs": [o.to_dict() for o in self.outputs],
            "environments": [s.to_dict() for s in self.sides],
            "likely-causes": list(self.causes),
            "explain": self.explanation.to_dict() if self.explanation else None,
            "notes": list(self.notes),
            "recorded": self.recorded,
        }


def verdict(outputs: tuple[OutputComparison, ...], runs: int, *, across: str = "") -> str:
    """The one-line verdict over *outputs* compared across *runs* runs (*across*: the other
    environment's label, when one run here is compared with one run there)."""
    bad = [o for o in outputs if not o.identical]
    tensors = sum(len(o.tensors) for o in outputs)
    what = plural(len(outputs), "output")
    if tensors:
        what += f", {plural(tensors, 'tensor')}"
    if not bad:
        # metrics whose bytes differ but whose values agree: equal, not bit-identical
        loose = [o.path for o in outputs if len(set(o.digests)) > 1]
        if loose:
            from envsnap._text import some

            what += f" identical ({some(loose)} equal in value, not in bytes)"
        else:
            what += " bit-identical" if not across else ""
        if across:
            how = "bit for bit" if not loose else "in value"
            return f"{across} reproduces this machine's outputs {how} ({what})"
        return f"reproducible: {runs} runs, {what}"
    shown = "; ".join(o.summary() for o in bad[:_SHOWN])
    more = f"; and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    if across:
        return f"{across} does not reproduce this machine's outputs: {shown}{more}"
    return f"not reproducible: {shown}{more}"
