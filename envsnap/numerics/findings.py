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
        what = "run-to-run identical and bits match" if comp.status != "differs" else "bits match"
        return f"fix verified: {what} with {verdict.fixed_by}"
    tried = f" (tried: {'; '.join(verdict.tried)})" if verdict and verdict.tried else ""
    return NO_FIX + tried


def _differs(comp: ProbeComparison, verdicts: Mapping[str, Verdict] | None) -> Finding:
    sample = (
        f"{comp.sample_differs} of {comp.sample_size} sampled values differ"
        + (f", max {comp.max_ulps} ulps" if comp.max_ulps else "")
        + (f", rel {comp.max_rel:.1e}" if comp.max_rel else "")
        if comp.sample_size
        else "shape or dtype changed"
    )
    cause = "; ".join(comp.causes) or "no recorded dispatch fact differs (unexplained)"
    return Finding(
        "warning",
        "numerics",
        "numerics.differs",
        f"{comp.id}: bits differ ({sample}); likely cause: {cause}",
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
        elif comp.status == "not-measurable":
            out.append(
                Finding(
                    "info",
                    "numerics",
                    "numerics.not-measurable",
                    f"{comp.id}: not measurable here: {comp.reason}",
                )
            )
    return out
