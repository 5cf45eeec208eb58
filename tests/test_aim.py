"""envsnap.aim against a real Aim repository in tmp, read back through Aim's own API
(`Repo.query_runs` with Aim's query language, `Run` params, text sequences), and `envsnap diff
--aim` between two runs whose captures differ in one package and in the GPU model."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.publish import write_repro
from tests.fakes.trackers import (
    FILES,
    expected_facts,
    expected_packages,
    run_script,
    tracker_env,
    two_captures,
)

pytest.importorskip("aim", reason="Aim is not installed (pip install aim)")

CLI = Callable[..., subprocess.CompletedProcess[str]]
_LOGGED = re.compile(r"^logged (\S+) to Aim run ([0-9a-f]+) in (\S+): 5 files, 16 facts, 6 pack")


def _runs(repo: Path, query: str) -> list[str]:
    """The hashes of the runs of *repo* that Aim's query language selects."""
    from aim import Repo

    found = Repo.from_path(str(repo)).query_runs(query, report_mode=0).iter_runs()
    return sorted(item.run.hash for item in found)


def _check_run(repo: Path, run_hash: str, cap: Path, side: str) -> None:
    """Run *run_hash* holds capture *side*'s facts as params and its files as texts."""
    from aim import Repo
    from aim.storage.context import Context

    run: Any = Repo.from_path(str(repo)).get_run(run_hash)
    assert run is not None, f"{run_hash} is not in the index"
    params = run["envsnap"]
    assert {k: v for k, v in params.items() if k != "package"} == expected_facts(cap, side)
    assert params["package"] == expected_packages(side)
    for name in FILES:
        texts = run.get_text_sequence(f"envsnap/{name}", Context({}))
        assert texts.values.last_value().data == (cap / name).read_text(encoding="utf-8")


def test_a_scripts_own_run_gets_params_and_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_env(tmp_path, monkeypatch)
    cap = two_captures(tmp_path)["a"]
    repo = tmp_path / "aim"
    run_hash = run_script(
        f"""
        import aim, envsnap.aim
        run = aim.Run(repo={str(repo)!r}, experiment="train", system_tracking_interval=None)
        run.set_artifacts_uri({(tmp_path / "art").as_uri()!r})
        run["hparams"] = {{"lr": 0.1}}
        result = envsnap.aim.log_capture({str(cap)!r}, run)
        print(result.run_id)
        run.close()
        """,
        tmp_path,
    )
    _check_run(repo, run_hash, cap, "a")
    # the run has an artifacts URI: the files are its artifacts too
    for name in FILES:
        stored = tmp_path / "art" / run_hash / "envsnap" / name
        assert stored.read_bytes() == (cap / name).read_bytes()
    query = (
        "run.envsnap.gpu == 'NVIDIA A100-SXM4-80GB' and run.envsnap.gpu_count == 2"
        " and run.envsnap.package['filelock'] == '3.16.1' and not run.envsnap.dirty"
        " and run.hparams.lr == 0.1"
    )
    assert _runs(repo, query) == [run_hash]


def test_the_repro_verdict_is_a_param_and_its_file_a_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A capture whose repro.toml was recorded with its lock: ``run.envsnap.repro`` and
    ``repro_summary`` are params that Aim's queries select on, repro.toml one of the texts."""
    from aim import Repo
    from aim.storage.context import Context

    tracker_env(tmp_path, monkeypatch)
    cap = two_captures(tmp_path)["a"]
    line = "reproducible: 2 runs, 1 output, 4 tensors bit-identical"
    write_repro(cap, reproducible=True, summary=line)
    repo = tmp_path / "aim"
    run_hash = run_script(
        f"""
        import aim, envsnap.aim
        run = aim.Run(repo={str(repo)!r}, experiment="train", system_tracking_interval=None)
        result = envsnap.aim.log_capture({str(cap)!r}, run)
        print(result.run_id)
        run.close()
        """,
        tmp_path,
    )
    assert _runs(repo, "run.envsnap.repro == True") == [run_hash]
    run: Any = Repo.from_path(str(repo)).get_run(run_hash)
    assert run["envsnap"]["repro_summary"] == line
    texts = run.get_text_sequence("envsnap/repro.toml", Context({}))
    assert texts.values.last_value().data == (cap / "repro.toml").read_text(encoding="utf-8")


@pytest.mark.slow  # a dozen Aim starts (seconds each)
def test_cli_log_and_diff_of_two_runs(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_env(tmp_path, monkeypatch)
    caps = two_captures(tmp_path)
    repo = tmp_path / "aim"
    hashes = {}
    for side, cap in caps.items():
        done = cli("log", str(cap), "--aim", "--repo", str(repo), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        match = _LOGGED.match(done.stdout)
        assert match and match.group(1) == str(cap) and match.group(3) == "aim/.aim", done.stdout
        hashes[side] = match.group(2)
        _check_run(repo, hashes[side], cap, side)
    assert _runs(repo, "run.envsnap.gpu == 'NVIDIA H100 80GB HBM3'") == [hashes["b"]]
    assert _runs(repo, "run.envsnap.package['filelock'] != '3.16.2'") == [hashes["a"]]
    diff = cli("diff", "--aim", "--repo", str(repo), hashes["a"], hashes["b"], cwd=tmp_path)
    assert diff.returncode == 1, diff.stderr
    assert "filelock is at another version" in diff.stdout
    assert "expected 3.16.1, found 3.16.2" in diff.stdout
    assert "gpu.arch-changed" in diff.stdout and "run on NVIDIA A100-SXM4-80GB" in diff.stdout
    # --run-hash logs to an existing run: run a now holds capture b (its last texts)
    again = cli("log", str(caps["b"]), "--aim", "--repo", str(repo), "--run-hash", hashes["a"])
    assert again.returncode == 0, again.stderr
    _check_run(repo, hashes["a"], caps["b"], "b")
    same = cli("diff", "--aim", "--repo", str(repo), hashes["a"], hashes["b"], cwd=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr


@pytest.mark.slow
def test_bad_runs_are_one_line(cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker_env(tmp_path, monkeypatch)
    repo = tmp_path / "aim"
    from aim import Run

    bare = Run(repo=str(repo), system_tracking_interval=None, capture_terminal_logs=False)
    bare["hparams"] = {"lr": 0.1}
    bare_hash = bare.hash
    bare.close()
    cap = two_captures(tmp_path)["a"]
    unindexed = cli("diff", "--aim", "--repo", str(repo), bare_hash, bare_hash)
    assert unindexed.returncode == 2 and "`aim storage reindex`" in unindexed.stderr
    # Aim's own command makes the run visible to Aim's API, as `aim up` would.
    aim_cli = Path(sys.executable).with_name("aim")
    reindex = [str(aim_cli), "storage", "--repo", str(repo), "reindex", "--yes"]
    subprocess.run(reindex, check=True, capture_output=True, timeout=300)
    cases = {
        ("diff", "--aim", "--repo", str(repo), bare_hash, bare_hash): "has no envsnap capture",
        ("diff", "--aim", "--repo", str(repo), "f" * 24, bare_hash): "not found",
        ("diff", "--aim", "--repo", str(repo), "x;y", "z"): "not an Aim run hash",
        ("log", str(cap), "--aim", "--run-hash", "../x"): "not an Aim run hash",
        ("log", str(cap), "--aim", "--run-id", "r"): "--run-id goes with --mlflow or --wandb",
        ("log", str(cap), "--aim", "--mlflow"): "not allowed with argument",
    }
    for args, expected in cases.items():
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert expected in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
