"""`envsnap check --save` on several "nodes" (the NVML stand-in set per node) and `envsnap
fleet` over the folder, the real CLI in subprocesses; then hostile report folders."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from envsnap.fleet.node import report_name
from tests.fakes.fleetreports import node_report, write_fleet
from tests.fakes.scenario import capture, envsnap, machine, make_demo_venv, make_toolkit

pytestmark = pytest.mark.slow  # real venvs and captures in subprocesses


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any) -> dict[str, Any]:
    """A capture of a venv on 8x A100 (driver 535.104.05), and the venv to check on each node."""
    root = tmp_path_factory.mktemp("cluster")
    toolkit = make_toolkit(root / "cuda")
    python = make_demo_venv(root / "venv", "1.0")
    env = machine(fake_nvml, toolkit)
    return {
        "capture": capture(root / "capture", python, env),
        "python": python,
        "env": env,
        "machine": lambda **kw: machine(fake_nvml, toolkit, **kw),
    }


def _save(cluster: dict[str, Any], reports: Path, node: str, **kw: Any) -> Any:
    env = cluster["machine"](**kw) if kw else cluster["env"]
    args = ("check", str(cluster["capture"]), "--python", str(cluster["python"]))
    return envsnap(*args, "--save", str(reports), "--node", node, env=env)


def test_four_nodes_one_with_another_driver(cluster: dict[str, Any], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    for i in (1, 2, 3):
        assert _save(cluster, reports, f"node-{i}").returncode == 0
    odd = _save(cluster, reports, "node-7", driver="550.54.15")
    assert odd.returncode == 0, odd.stdout + odd.stderr  # a newer driver still runs the job
    assert sorted(os.listdir(reports)) == [f"node-{i}.json" for i in (1, 2, 3, 7)]
    result = envsnap("fleet", str(reports), "--expect", "4", env={})
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "node-1  compatible" in out
    assert all(line == line.rstrip() for line in out.splitlines())
    assert "3 nodes have driver 535.104.05, node-7 has 550.54.15" in out
    assert "fix: bring node-7 to driver 535.104.05" in out
    assert out.rstrip().endswith(
        "4 of 4 node(s) reported (3 compatible, 1 differs); 1 error(s) between the nodes"
    )
    assert result.stderr == ""
    data = json.loads(envsnap("fleet", str(reports), "--json", env={}).stdout)
    assert [f["code"] for f in data["findings"]] == ["fleet.driver"]
    assert [n["node"] for n in data["nodes"]] == ["node-1", "node-2", "node-3", "node-7"]


def test_alike_nodes_pass_and_a_missing_one_fails(cluster: dict[str, Any], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    for i in (1, 2):
        assert _save(cluster, reports, f"gpu-{i}").returncode == 0
    ok = envsnap("fleet", str(reports), "--expect", "2", env={})
    assert ok.returncode == 0, ok.stdout
    assert "the nodes agree with each other" in ok.stdout
    missing = envsnap("fleet", str(reports), "--expect", "3", env={})
    assert missing.returncode == 1
    assert "1 of 3 node report(s) missing" in missing.stdout


def test_node_name_from_slurm_and_a_hostile_name(cluster: dict[str, Any], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    slurm = {"SLURMD_NODENAME": "gpu-17", "SLURM_PROCID": "3", "SLURM_STEP_TASKS_PER_NODE": "1(x4)"}
    env = {**cluster["env"], **slurm}
    args = ("check", str(cluster["capture"]), "--python", str(cluster["python"]))
    assert envsnap(*args, "--save", str(reports), env=env).returncode == 0
    assert _save(cluster, reports, "../../etc/evil\x1b[31m").returncode == 0
    hostile = report_name("../../etc/evil\x1b[31m")
    assert hostile.startswith("etc_evil_31m-") and len(hostile) == len("etc_evil_31m-") + 8
    assert sorted(os.listdir(reports)) == [f"{hostile}.json", "gpu-17.json"]
    assert not list(tmp_path.glob("*.json"))
    out = envsnap("fleet", str(reports), env={}).stdout
    assert "\x1b" not in out
    assert "../../etc/evil\\x1b[31m" in out


def test_bad_files_give_one_line_each(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_fleet(reports, 3)
    good = (reports / "node-1.json").read_text()
    (reports / "cut.json").write_text(good[: len(good) // 2])
    (reports / "empty.json").write_text("")
    (reports / "foreign.json").write_text('{"name": "some other tool"}')
    (reports / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (reports / "newer.json").write_text(json.dumps({**json.loads(good), "version": 7}))
    (reports / "escape\x1b.json").write_text("\x1b[2J not json")
    (reports / "link.json").symlink_to(reports / "node-2.json")
    (reports / "dir.json").mkdir()
    (reports / ".node-4.json.123.abc.tmp").write_text("{")  # a writer's temp file: not read
    (reports / "notes.txt").write_text("not a report, not read")
    result = envsnap("fleet", str(reports), env={})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    problems = [ln for ln in lines if ln.startswith(("skipped ", "ignored "))]
    assert len(problems) == 8, problems
    assert f"skipped {reports}/cut.json: truncated (the node did not finish writing it?)" in lines
    assert f"skipped {reports}/empty.json: empty (the node did not finish writing?)" in lines
    assert f"ignored {reports}/foreign.json: not an envsnap node report" in lines
    assert f"skipped {reports}/binary.json: not UTF-8 text" in lines
    assert any("newer.json: report version 7 is newer" in ln for ln in lines)
    assert f"skipped {reports}/link.json: a symbolic link, not a report" in lines
    assert any(ln.startswith(f"skipped {reports}/dir.json: ") for ln in lines)
    assert "\x1b" not in result.stdout
    assert lines[-1].startswith("fleet FAILED: 3 node(s) reported (3 compatible)")
    assert lines[-1].endswith("7 report file(s) unreadable")


def test_only_a_foreign_file_does_not_fail(tmp_path: Path) -> None:
    write_fleet(tmp_path, 2)
    (tmp_path / "package.json").write_text('{"name": "x"}')
    result = envsnap("fleet", str(tmp_path), env={})
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("/nonexistent/reports",),
            "envsnap: error: /nonexistent/reports: report folder not found",
        ),
        (("--expect", "0", "."), "envsnap: error: --expect 0: expected a positive number of nodes"),
        ((), "envsnap: error: REPORTS: a folder of node reports is needed (or --ray)"),
        (
            ("--timeout", "0", "."),
            "envsnap: error: --timeout 0: expected a positive number of seconds",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    result = envsnap("fleet", *args, env={})
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == message
    assert "Traceback" not in result.stderr


def test_package_difference_between_nodes(tmp_path: Path) -> None:
    write_fleet(
        tmp_path,
        3,
        {"node-2": node_report("node-2", packages="f" * 64, differ=(("torch", "2.4.0", "2.5.0"),))},
    )
    out = envsnap("fleet", str(tmp_path), env={}).stdout
    assert "(node-2: torch 2.5.0 (others 2.4.0))" in out
    assert "fix: pip install torch==2.4.0 on node-2" in out
