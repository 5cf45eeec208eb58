"""Findings (category ``numerics``) and their `NumericsSummary` from probe comparisons (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from envsnap.findings import Finding, NumericsSummary

from .compare import ProbeComparison
from .remedies import Verdict

__all__ = ["findings", "summarize"]

NO_FIX = "no setting here restores the recorded bits"


def summarize(
    comps: Sequence[ProbeComparison], *, recorded_digest: str = "", current_digest: str = ""
) -> NumericsSummary:
    """Count the statuses of *comps*."""

    def count(status: str) -> int:
        return sum(c.status == status for c in comps)

    return NumericsSummary(
        matched=count("identical"),
        compared=len(comps),
        differs=count("differs"),
        nondeterministic=count("nondeterministic"),
        not_measurable=count("not-measurable"),
        failed=count("failed"),
        recorded_digest=recorded_digest,
        current_digest=current_digest,
    )


def _sha(digest: str) -> str:
    return f"sha256 {digest[:12]}" if digest else "no result"


def _remedy(comp: ProbeComparison, verdicts: Mapping[str, Verdict] | None) -> str:
    if verdicts is None:  # a diff of two captures: nothing was run
        return "re-run `envsnap check --numerics` on the second machine to test the settings"
    verdict = verdicts.get(comp.id)
    if verdict and verdict.fixed_by:
        # rendered after "fix: ": the setting first, then the proof
        what = (
            "identical runs and the recorded bits"
            if comp.status != "differs"
            else ("the recorded bits")
        )
        return f"{verdict.fixed_by} (verified here: it gives {what})"
    tried = f" (tried: {'; '.join(verdict.tried)})" if verdict and verdict.tried else ""
    return NO_FIX + tried


def _sample(comp: ProbeComparison) -> str:
    """How the recorded sample of the output compares: "bits differ (SAMPLE)"."""
    if not comp.sample_size:
        return "shape or dtype changed"
    if not comp.sample_differs:  # the digest covers every value, the sample only a few
        return f"outside the {comp.sample_size} sampled values, which all match"
    return (
        f"{comp.sample_differs} of {comp.sample_size} sampled values differ"
        + (f", max {comp.max_ulps} ulps" if comp.max_ulps else "")
        + (f", rel {comp.max_rel:.1e}" if comp.max_rel else "")
    )


def _differs(comp: ProbeComparison, verdicts: Mapping[str, Verdict] | None) -> Finding:
    cause = "; ".join(comp.causes) or "no recorded dispatch fact differs (unexplained)"
    return Finding(
        "warning",
        "numerics",
        "numerics.differs",
        f"{comp.id}: bits differ ({_sample(comp)}); likely cause: {cause}",
        expected=_sha(comp.recorded.sha256),
        actual=_sha(comp.current.sha256 if comp.current else ""),
        remedy=_remedy(comp, verdicts),
    )


def findings(
    comps: Sequence[ProbeComparison], verdicts: Mapping[str, Verdict] | None
) -> list[Finding]:
    """One finding per probe that did not match; *verdicts* None when nothing could be run."""
    out: list[Finding] = []
    for comp in comps:
        if comp.status == "differs":
            out.append(_differs(comp, verdicts))
        elif comp.status == "nondeterministic":
            why = "; ".join(comp.causes)
            # as when recorded (GPU atomics): a fact of this probe, not a change of machine
            known = not comp.recorded.deterministic
            out.append(
                Finding(
                    "info" if known else "warning",
                    "numerics",
                    "numerics.nondeterministic",
                    f"{comp.id}: results differ from run to run here"
                    + (", as they did when recorded" if known else "")
                    + (f"; changed: {why}" if why else ""),
                    expected="identical runs",
                    actual=f"{len(set(comp.current.run_sha256)) if comp.current else 0} results",
                    remedy=_remedy(comp, verdicts),
                )
            )
        elif comp.status == "failed":
            out.append(
                Finding(
                    "warning",
                    "numerics",
                    "numerics.failed",
                    f"{comp.id}: ran when recorded, fails here",
                    expected=_sha(comp.recorded.sha256),
                    actual=comp.reason,
                )
            )
    out.extend(_not_measurable([c for c in comps if c.status == "not-measurable"]))
    return out


def _not_measurable(comps: Sequence[ProbeComparison]) -> list[Finding]:
    """One info finding per reason: "torch.*: not measurable here: torch is not importable
    here (...) (21 probes)", not one line per probe of a framework that does not import."""
    by_reason: dict[str, list[ProbeComparison]] = {}
    for comp in comps:
        by_reason.setdefault(comp.reason, []).append(comp)
    out = []
    for reason, group in by_reason.items():
        what, count = group[0].id, ""
        if len(group) > 1:
            heads = {c.id.rsplit(".", 1)[0] for c in group}
            if len(heads) > 1:
                heads = {c.id.split(".", 1)[0] for c in group}
            what = ", ".join(f"{head}.*" for head in sorted(heads))
            count = f" ({len(group)} probes)"
        message = f"{what}: not measurable here: {reason}{count}"
        out.append(Finding("info", "numerics", "numerics.not-measurable", message))
    return out
