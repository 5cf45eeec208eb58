"""The result of a check or diff: frozen findings, the numerics summary, and the report that
holds them."""

from __future__ import annotations

from envsnap._record import Record, record

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CATEGORIES", "SEVERITIES", "CheckReport", "Finding", "NumericsSummary"]

# Worst first: the rules' runner sorts by this order; the exit code comes from the worst severity.
SEVERITIES = ("error", "warning", "info")
CATEGORIES = (
    "python",
    "os",
    "packages",
    "cuda",
    "driver",
    "gpu",
    "cpu",
    "memory",
    "blas",
    "determinism",
    "numerics",
    "hardware",
    "fleet",  # between the nodes of a job (envsnap.fleet): missing, duplicate, unreadable reports
    "repro",  # the recorded verdict of `envsnap repro` (repro.toml) and the capture it ran under
)


@record
class Finding(Record):
    """One difference between the recorded capture and the machine (or capture) checked.

    `severity`: ``error`` (will not run, or not as recorded), ``warning`` (runs, numbers or speed
    may differ), ``info`` (harmless drift). `code` is stable (``driver.too-old``); `remedy` is the
    command, variable or setting that removes the risk.
    """

    severity: str
    category: str
    code: str
    message: str
    expected: str = ""
    actual: str = ""
    remedy: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")

    def sort_key(self) -> tuple[int, int, str, str, str]:
        """Worst severity first, then category order, code and message."""
        return (
            SEVERITIES.index(self.severity),
            CATEGORIES.index(self.category),
            self.code,
            self.message,
            self.actual,
        )

    def to_dict(self) -> dict[str, str]:
        """Return the finding as a flat dict (every key always present)."""
        return {
            "severity": self.severity,
            "category": self.category,
            "code": self.code,
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
            "remedy": self.remedy,
        }


@record
class NumericsSummary(Record):
    """How many recorded probes matched bit for bit, and the digests of both sides."""

    matched: int
    compared: int
    differs: int
    nondeterministic: int
    not_measurable: int
    failed: int
    recorded_digest: str = ""
    current_digest: str = ""
    seconds: float | None = None  # the battery's wall time here (None for a diff)

    def line(self) -> str:
        """``numerics: 35 of 38 probes matched bit for bit (3 differ)``."""
        rest = [
            f"{n} {what}"
            for n, what in (
                (self.differs, "differ"),
                (self.nondeterministic, "nondeterministic here"),
                (self.failed, "failed here"),
                (self.not_measurable, "not measurable here"),
            )
            if n
        ]
        took = f" in {self.seconds:.1f} s" if self.seconds is not None else ""
        return (
            f"numerics: {self.matched} of {self.compared} probes matched bit for bit"
            + (f" ({', '.join(rest)})" if rest else "")
            + took
        )

    def to_dict(self) -> dict[str, object]:
        """The summary as the JSON envelope's ``numerics`` object."""
        return {
            "matched": self.matched,
            "compared": self.compared,
            "differs": self.differs,
            "nondeterministic": self.nondeterministic,
            "not-measurable": self.not_measurable,
            "failed": self.failed,
            "recorded-digest": self.recorded_digest,
            "current-digest": self.current_digest,
            "seconds": self.seconds,
        }


@record
class CheckReport(Record):
    """All findings of one check or diff, sorted worst first."""

    findings: tuple[Finding, ...] = ()
    numerics: NumericsSummary | None = None  # set by a check or diff that compared numerics

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that mean the job will not run as recorded."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings that mean the job runs but may compute different numbers."""
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def infos(self) -> tuple[Finding, ...]:
        """Harmless drift."""
        return tuple(f for f in self.findings if f.severity == "info")

    @property
    def compatible(self) -> bool:
        """True when no finding is an error."""
        return not self.errors

    def ok(self, *, strict: bool = False) -> bool:
        """True when there is no error (and, with *strict*, no warning either)."""
        return self.compatible and not (strict and self.warnings)

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when `ok(strict=strict)`, else 1."""
        return 0 if self.ok(strict=strict) else 1

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON envelope: ``{"version": 1, "compatible": ..., "findings": [...]}``."""
        out: dict[str, Any] = {
            "version": 1,
            "compatible": self.compatible,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.numerics is not None:
            out["numerics"] = self.numerics.to_dict()
        return out
