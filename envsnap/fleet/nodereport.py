"""The node report: one node's check result and fingerprint, as a versioned JSON document.

`NodeReport.to_dict` writes it; `parse` reads one back from text and raises `ReportError` with a
short reason (truncated, not JSON, not a node report, a newer version, a bad field) that the
fleet prints as one line. Reading keeps findings as `Finding` records and fingerprints as sorted
tuples of pairs, so that thousands of reports group by plain tuple equality.
"""

from __future__ import annotations

import json

from envsnap._record import Record, record
from envsnap.errors import InputError
from envsnap.findings import CheckReport, Finding
from envsnap.formats.capture import json_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["KIND", "MAX_BYTES", "VERSION", "NodeReport", "ReportError", "parse"]

KIND = "envsnap-node-report"
VERSION = 1
MAX_BYTES = 1 << 20  # a report is a few KB; a much larger file or store message is not one


class ReportError(ValueError):
    """A report file that cannot be used; the message is the reason, in a few words."""


@record
class NodeReport(Record):
    """One node (or rank) checked against a capture.

    `fingerprint` is sorted (key, value) pairs (see `envsnap.fleet.fingerprint`); `differ` holds
    the packages whose version differs from the capture as (name, recorded, current) triples,
    ``""`` for not recorded and ``"missing"`` for not installed.
    """

    node: str
    report: CheckReport
    fingerprint: tuple[tuple[str, str], ...]
    differ: tuple[tuple[str, str, str], ...] = ()
    host: str = ""
    rank: str = ""
    capture: str = ""
    created_at: str = ""
    created_by: str = ""

    @property
    def verdict(self) -> str:
        """``incompatible`` (an error), ``differs`` (warnings only) or ``compatible``."""
        if self.report.errors:
            return "incompatible"
        return "differs" if self.report.warnings else "compatible"

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON document (key order fixed)."""
        return {
            "version": VERSION,
            "kind": KIND,
            "node": self.node,
            "host": self.host,
            "rank": self.rank,
            "capture": self.capture,
            "created-at": self.created_at,
            "created-by": self.created_by,
            "check": self.report.to_dict(),
            "fingerprint": dict(self.fingerprint),
            "packages-differ": [list(d) for d in self.differ],
        }

    def dumps(self) -> str:
        """The document as compact JSON text ending in a newline (a fleet reads thousands)."""
        return json.dumps(self.to_dict(), separators=(",", ":")) + "\n"


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ReportError(f"{key}: expected a string")
    return value


# The nodes of one fleet mostly write the same findings, fingerprint and package differences:
# each distinct one is validated and built once per process, and later reports share it (a
# report's parts are immutable). The keys are the parsed values themselves, made hashable.
_MEMO: dict[Any, Any] = {}
_FIELDS = ("severity", "category", "code", "message", "expected", "actual", "remedy")


def _memo(kind: str, key: Any, build: Any, value: Any) -> Any:
    try:
        return _MEMO[kind, key]
    except KeyError:
        made = _MEMO[kind, key] = build(value)
        return made
    except TypeError:  # an unhashable value (a list or table where a string belongs)
        return build(value)


def _findings_key(check: Any) -> Any:
    if type(check) is dict and type(check.get("findings")) is list:
        return tuple(tuple(f.items()) if type(f) is dict else f for f in check["findings"])
    return None


def _findings(check: Any) -> CheckReport:
    if not isinstance(check, dict) or not isinstance(check.get("findings"), list):
        raise ReportError("check.findings: expected an array")
    out = []
    for i, f in enumerate(check["findings"]):
        if not isinstance(f, dict) or not all(isinstance(v, str) for v in f.values()):
            raise ReportError(f"check.findings[{i}]: expected a table of strings")
        if not set(f) <= set(_FIELDS):
            raise ReportError(
                f"check.findings[{i}]: unknown key(s) {sorted(set(f) - set(_FIELDS))}"
            )
        try:
            out.append(Finding(*(f.get(k, "") for k in _FIELDS)))
        except ValueError as exc:  # an unknown severity or category
            raise ReportError(f"check.findings[{i}]: {exc}") from None
    return CheckReport(tuple(sorted(out, key=Finding.sort_key)))


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ReportError("fingerprint: expected a table of strings")
    return tuple(sorted(value.items()))


def _differ(value: Any) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(value, list) or not all(
        isinstance(d, list) and len(d) == 3 and all(isinstance(s, str) for s in d) for d in value
    ):
        raise ReportError("packages-differ: expected an array of [name, recorded, current]")
    return tuple((d[0], d[1], d[2]) for d in value)


def _key(value: Any) -> Any:
    if type(value) is dict:
        return tuple(value.items())
    if type(value) is list:
        return tuple(tuple(v) if type(v) is list else v for v in value)
    return value


def parse(text: str) -> NodeReport:
    """The report in *text* (a file's or a store message's, read through the in door's bounded
    JSON); `ReportError` saying why when it is not a usable node report."""
    if len(text) > MAX_BYTES:
        raise ReportError(f"larger than {MAX_BYTES >> 10} KiB: not a node report")
    try:
        data = json_value(text, "")
    except InputError as exc:
        stripped = text.strip()
        if stripped.startswith("{") and not stripped.endswith("}"):
            raise ReportError("truncated (the node did not finish writing it?)") from None
        why = exc.message.removeprefix(": ").replace("not valid JSON", "not JSON")
        raise ReportError(why) from None
    return _report(data)


def _report(data: Any) -> NodeReport:
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ReportError("not an envsnap node report")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReportError("version: expected an integer")
    if version > VERSION:
        raise ReportError(f"report version {version} is newer than this envsnap reads ({VERSION})")
    node = _str(data, "node")
    if not node:
        raise ReportError("node: missing")
    check, fp, differ = data.get("check"), data.get("fingerprint"), data.get("packages-differ", [])
    return NodeReport(
        node=node,
        report=_memo("check", _findings_key(check), _findings, check),
        fingerprint=_memo("fp", _key(fp), _pairs, fp),
        differ=_memo("differ", _key(differ), _differ, differ),
        host=_str(data, "host"),
        rank=_str(data, "rank"),
        capture=_str(data, "capture"),
        created_at=_str(data, "created-at"),
        created_by=_str(data, "created-by"),
    )
