"""Collect benchmark rows and print them as one aligned table (and as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from measure import Stats

__all__ = ["Report", "Row", "Target", "fmt_ms", "fmt_rss", "fmt_stats"]


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    section: str
    what: str
    value: str
    cpu: str = ""
    rss: str = ""
    target: str = ""
    result: str = ""


@dataclass(frozen=True)
class Target:
    """One speed target of the issue that set it (issue 21: "1" capture ... "5" the suite):
    what was measured against its limit; `ok` None when this run did not measure it."""

    number: str
    what: str
    measured: str
    limit: str
    ok: bool | None
    note: str = ""

    @property
    def verdict(self) -> str:
        """PASS, FAIL or "not run"."""
        return "not run" if self.ok is None else "PASS" if self.ok else "FAIL"


@dataclass
class Report:
    """The rows for the table, the targets for the summary and the numbers for `--json`."""

    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    def target(  # noqa: PLR0917 (reads as the summary's columns)
        self, number: str, what: str, measured: str, limit: str, ok: bool | None, note: str = ""
    ) -> None:
        """Record a target's figure and verdict for the summary (and --json)."""
        self.targets.append(Target(number, what, measured, limit, ok, note))

    def summary(self) -> str:
        """The targets, one line each, in the issue's order: PASS, FAIL or not run (why)."""
        rows = [("#", "target", "measured", "limit", "result")]
        for t in sorted(self.targets, key=lambda t: t.number):
            result = t.verdict + (f" ({t.note})" if t.note else "")
            rows.append((t.number, t.what, t.measured, t.limit, result))
        widths = [min(max(len(r[i]) for r in rows), 60) for i in range(4)]
        lines = []
        for row in rows:
            cells = [c.ljust(w) for c, w in zip(row, widths)]
            lines.append("  ".join([*cells, row[4]]).rstrip())
        lines.insert(1, "-" * min(sum(widths) + 8 + max(len(r[4]) for r in rows), 160))
        passed = sum(t.ok is True for t in self.targets)
        failed = sum(t.ok is False for t in self.targets)
        lines.append(f"{passed} PASS, {failed} FAIL, {len(self.targets) - passed - failed} not run")
        return "\n".join(lines)

    def add(
        self,
        section: str,
        what: str,
        value: str,
        *,
        cpu: str = "",
        rss: str = "",
        target: str = "",
        result: str = "",
    ) -> None:
        """Append a row."""
        self.rows.append(Row(section, what, value, cpu, rss, target, result))

    def add_stats(
        self, section: str, what: str, stats: Stats, *, target: str = "", result: str = ""
    ) -> None:
        """Append a row for a measured command: wall median and range, CPU time, peak RSS."""
        self.add(
            section,
            what,
            fmt_stats(stats),
            cpu=fmt_ms(stats.cpu_s),
            rss=fmt_rss(stats.rss_kib),
            target=target,
            result=result,
        )

    def put(self, section: str, key: str, value: Any) -> None:
        """Record a number (or note) for the JSON output."""
        self.data.setdefault(section, {})[key] = value

    def unavailable(self, section: str, what: str, reason: str) -> None:
        """A verb that does not work yet: say why in place of a number."""
        self.add(section, what, f"unavailable: {reason}")
        self.data.setdefault(_json_key(section), {}).setdefault("unavailable", {})[what] = reason

    def skipped(self, section: str, what: str, reason: str) -> None:
        """A row that cannot run here (no network, no Docker): say why."""
        self.add(section, what, f"skipped: {reason}")
        self.data.setdefault(_json_key(section), {}).setdefault("skipped", {})[what] = reason

    def table(self) -> str:
        """Return the rows as an aligned plain-text table."""
        head = Row(
            "section", "measurement", "wall median (min-max)", "CPU", "peak RSS", "target", "result"
        )
        rows = [head, *self.rows]
        cols = ("section", "what", "value", "cpu", "rss", "target", "result")
        # Long free-text values (unavailable/skipped reasons) must not stretch every column.
        widths = {
            c: min(max(len(getattr(r, c)) for r in rows), 34 if c == "value" else 48) for c in cols
        }
        lines = []
        last_section = None
        for row in rows:
            section = row.section if row.section != last_section else ""
            last_section = row.section
            cells = [section, row.what, row.value, row.cpu, row.rss, row.target, row.result]
            line = "  ".join(
                cell.ljust(widths[c]) if len(cell) <= widths[c] else cell
                for c, cell in zip(cols, cells)
            )
            lines.append(line.rstrip())
            if row is head:
                lines.append("-" * min(sum(widths.values()) + 2 * (len(cols) - 1), 160))
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """Return the numbers and the table rows as one JSON-ready object."""
        return {
            "version": 1,
            **_rounded(self.data),
            "rows": [asdict(r) for r in self.rows],
            "targets": [{**asdict(t), "result": t.verdict} for t in self.targets],
        }


def _json_key(section: str) -> str:
    """The JSON key of a table section: "2 capture vs freeze" -> "capture"."""
    words = section.split()
    return words[1] if len(words) > 1 and words[0].isdigit() else section


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def fmt_ms(seconds: float) -> str:
    """Format seconds as milliseconds (or seconds when long)."""
    if seconds >= 10:
        return f"{seconds:.1f} s"
    return f"{seconds * 1000:.0f} ms"


def fmt_stats(stats: Stats) -> str:
    """Format a median with its range."""
    return f"{fmt_ms(stats.median_s)} ({fmt_ms(stats.min_s)}-{fmt_ms(stats.max_s)})"


def fmt_rss(kib: int) -> str:
    """Format a peak RSS in MiB."""
    return f"{kib / 1024:.0f} MiB"
