"""Aggregation is pure: node reports in, verdicts and between-node findings out."""

from __future__ import annotations

import json

from envsnap.fleet.aggregate import Problem, aggregate, natural_key
from envsnap.fleet.nodereport import NodeReport, ReportError, parse
from tests.fakes.fleetreports import TOO_OLD, node_report


def _alike(count: int) -> list[NodeReport]:
    return [node_report(f"node-{i}") for i in range(1, count + 1)]


def test_alike_nodes_agree_and_pass() -> None:
    result = aggregate(_alike(4), expected=4)
    assert result.report.findings == ()
    assert [n.node for n in result.nodes] == ["node-1", "node-2", "node-3", "node-4"]
    assert {n.verdict for n in result.nodes} == {"compatible"}
    assert result.exit_code() == 0


def test_odd_driver_is_named_against_the_majority() -> None:
    reports = [*_alike(3), node_report("node-7", driver="550.54.15")]
    result = aggregate(reports)
    (finding,) = result.report.findings
    assert finding.code == "fleet.driver"
    assert finding.severity == "error"
    assert finding.message.startswith("3 nodes have driver 535.104.05, node-7 has 550.54.15: ")
    assert (finding.expected, finding.actual) == ("535.104.05", "550.54.15")
    assert "node-7" in finding.remedy
    assert result.exit_code() == 1


def test_several_odd_groups_and_a_tie() -> None:
    reports = [
        *_alike(5),
        node_report("node-10", nccl="2.21.5"),
        node_report("node-11", nccl="2.21.5"),
        node_report("node-9", nccl="2.18.1"),
    ]
    (finding,) = aggregate(reports).report.findings
    assert finding.message.startswith(
        "5 nodes have NCCL 2.20.5, node-10, node-11 have 2.21.5, node-9 has 2.18.1"
    )
    tie = aggregate([node_report("a"), node_report("b", python="cpython 3.12.1")])
    (finding,) = tie.report.findings
    # no majority: both sides are named
    assert finding.message.startswith("a has Python cpython 3.11.7 cp311, b has cpython 3.12.1")


def test_info_level_drift_does_not_fail() -> None:
    result = aggregate([*_alike(2), node_report("node-3", kernel="6.1.0-21-amd64")])
    (finding,) = result.report.findings
    assert (finding.severity, finding.code) == ("info", "fleet.kernel")
    assert result.exit_code() == 0
    assert result.exit_code(strict=True) == 0


def test_cpu_isa_is_a_warning_and_strict_fails() -> None:
    result = aggregate([*_alike(2), node_report("node-3", isa="x86_64 AVX2")])
    assert [f.severity for f in result.report.findings] == ["warning"]
    assert result.exit_code() == 0
    assert result.exit_code(strict=True) == 1


def test_package_sets_name_the_packages_and_the_pip_command() -> None:
    odd = node_report(
        "node-4",
        packages="b" * 64,
        differ=(("torch", "2.4.0", "2.4.1"), ("extra-pkg", "", "1.0")),
    )
    (finding,) = aggregate([*_alike(3), odd]).report.findings
    assert finding.code == "fleet.packages"
    assert "node-4: extra-pkg 1.0 (others missing), torch 2.4.1 (others 2.4.0)" in finding.message
    assert finding.remedy == "pip install torch==2.4.0 on node-4"


def test_a_hostile_version_in_a_report_is_quoted_in_the_pip_command() -> None:
    odd = node_report("node-4", packages="c" * 64, differ=(("torch", "2.4.0 $(touch x)", "2.4.1"),))
    (finding,) = aggregate([*_alike(3), odd]).report.findings
    assert finding.remedy == "pip install 'torch==2.4.0 $(touch x)' on node-4"


def test_incompatible_node_fails_the_fleet() -> None:
    result = aggregate([*_alike(2), node_report("node-3", findings=(TOO_OLD,))])
    assert [n.verdict for n in result.nodes] == ["compatible", "compatible", "incompatible"]
    assert result.nodes[2].first == "the NVIDIA driver is too old for CUDA 12.4 (535.104.05)"
    assert result.report.findings == ()
    assert result.exit_code() == 1


def test_missing_duplicate_and_unexpected_reports() -> None:
    missing = aggregate(_alike(3), expected=4)
    assert [f.code for f in missing.report.findings] == ["fleet.missing"]
    assert missing.exit_code() == 1
    extra = aggregate(_alike(3), expected=2)
    assert [(f.severity, f.code) for f in extra.report.findings] == [
        ("warning", "fleet.unexpected")
    ]
    dup = aggregate([*_alike(2), node_report("node-2")])
    assert [f.code for f in dup.report.findings] == ["fleet.duplicate"]
    assert dup.exit_code() == 1


def test_problems_fail_only_when_fatal() -> None:
    foreign = aggregate(_alike(2), [Problem("r/x.json", "not an envsnap node report", False)])
    assert foreign.exit_code() == 0
    truncated = aggregate(_alike(2), [Problem("r/y.json", "truncated")])
    assert truncated.exit_code() == 1


def test_natural_order() -> None:
    names = ["node-10", "node-9", "node-1", "gpu-a"]
    assert sorted(names, key=natural_key) == ["gpu-a", "node-1", "node-9", "node-10"]


def test_json_envelope_keys_are_pinned() -> None:
    data = aggregate([*_alike(2), node_report("node-3", driver="550.54.15")], expected=3).to_dict()
    assert list(data) == ["version", "compatible", "expected", "nodes", "findings", "problems"]
    assert data["version"] == 1
    assert data["compatible"] is False
    assert list(data["nodes"][0]) == ["node", "verdict", "errors", "warnings", "first"]
    json.dumps(data)


def _edited(rep: NodeReport, path: tuple[str, ...], value: object) -> str:
    data = rep.to_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data)


def test_report_round_trip_and_refusals() -> None:
    rep = node_report("node-1", findings=(TOO_OLD,), differ=(("torch", "2.4.0", "missing"),))
    assert parse(rep.dumps()) == rep
    bad_finding = {**TOO_OLD.to_dict(), "severity": "fatal"}
    for text, reason in [
        (rep.dumps()[:200], "truncated"),
        ("", "not JSON"),
        ('{"kind": "something-else"}', "not an envsnap node report"),
        (_edited(rep, ("version",), 9), "newer than this envsnap"),
        (_edited(rep, ("version",), "1"), "version: expected an integer"),
        (_edited(rep, ("node",), 7), "node: expected a string"),
        (_edited(rep, ("node",), ""), "node: missing"),
        (_edited(rep, ("check", "findings"), [bad_finding]), "unknown severity"),
        (_edited(rep, ("check", "findings"), [{**TOO_OLD.to_dict(), "x": "y"}]), "unknown key"),
        (_edited(rep, ("check", "findings"), [{"severity": ["error"]}]), "table of strings"),
        (_edited(rep, ("check",), None), "check.findings: expected an array"),
        (_edited(rep, ("fingerprint", "driver"), ["535"]), "fingerprint: expected a table"),
        (_edited(rep, ("packages-differ",), [["torch", "1"]]), "packages-differ: expected"),
    ]:
        try:
            parse(text)
        except ReportError as exc:
            assert reason in str(exc), (reason, str(exc))
        else:
            raise AssertionError(f"parsed: {reason}")


def test_reports_sharing_parts_parse_alike() -> None:
    """Parts shared between reports are built once; a bad one is refused every time."""
    one = node_report("node-1", findings=(TOO_OLD,))
    two = node_report("node-2", findings=(TOO_OLD,))
    assert parse(two.dumps()).report is parse(one.dumps()).report
    bad = _edited(one, ("check", "findings"), [{**TOO_OLD.to_dict(), "x": "y"}])
    for _ in range(2):
        try:
            parse(bad)
        except ReportError:
            pass
        else:
            raise AssertionError("a bad finding was parsed")


def test_a_value_on_every_node_is_named_briefly() -> None:
    reports = [*_alike(4), *(node_report(f"odd-{i}", memory=f"{i} GiB") for i in range(20))]
    (finding,) = aggregate(reports).report.findings
    assert finding.message.startswith("4 nodes have RAM 2015 GiB, odd-0 has 0 GiB, odd-1 has 1 GiB")
    assert "and 15 more value(s): another amount of memory" in finding.message
    assert finding.actual.endswith(" and 15 more")
