"""envsnap.wandb against the real wandb library in offline mode (no network, no key): the runs it
writes are read back from the files wandb wrote (the .wandb transaction log through wandb's own
protobuf records, the run's files/ folder), and `envsnap diff --wandb` compares two offline runs
whose captures differ in one package and in the GPU model. A loopback server that echoes what it
is sent stands in for a W&B server to prove that no key, password or host reaches the terminal."""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.publish import write_repro
from tests.fakes.trackers import (
    FILES,
    EchoServer,
    expected_facts,
    expected_packages,
    run_script,
    tracker_env,
    two_captures,
    wandb_run,
)

pytest.importorskip("wandb", reason="wandb is not installed (pip install wandb)")

CLI = Callable[..., subprocess.CompletedProcess[str]]
_LOGGED = re.compile(r"^logged (\S+) to W&B run (\S+) in (\S+): 5 files, 16 facts, 6 package")


def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return tracker_env(tmp_path, monkeypatch, WANDB_MODE="offline")


def _check_run(folder: Path, cap: Path, side: str) -> None:
    """The run in *folder* holds capture *side*'s facts in its config and summary, the capture as
    an `environment` artifact, and the files under files/envsnap."""
    held = wandb_run(folder)
    facts = expected_facts(cap, side)
    for name, value in facts.items():
        assert held["config"][f"envsnap/{name}"] == value, name
        assert held["summary"][f"envsnap/{name}"] == value, name
    assert held["config"]["envsnap/package"] == expected_packages(side)
    (artifact,) = held["artifacts"]
    assert (artifact["type"], artifact["name"]) == ("environment", "envsnap-capture")
    assert artifact["files"] == sorted(FILES)
    assert artifact["metadata"] == facts
    assert {f"envsnap/{name}" for name in FILES} <= set(held["files"])
    for name in FILES:
        assert (folder / "files" / "envsnap" / name).read_bytes() == (cap / name).read_bytes()


def test_a_scripts_own_run_gets_config_summary_and_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _offline(tmp_path, monkeypatch)
    cap = two_captures(tmp_path)["a"]
    last = run_script(
        f"""
        import wandb, envsnap.wandb
        run = wandb.init(project="demo", config={{"lr": 0.1}})
        result = envsnap.wandb.log_capture({str(cap)!r})
        print(result.run_id, result.location)
        run.finish()
        """,
        tmp_path,
    )
    run_id, location = last.split()
    folder = Path(location)
    assert folder.parent == Path(env["WANDB_DIR"]) / "wandb"
    assert folder.name.startswith("offline-run-") and folder.name.endswith(f"-{run_id}")
    _check_run(folder, cap, "a")
    assert wandb_run(folder)["config"]["lr"] == 0.1  # the script's own config is kept


def test_cli_log_and_diff_of_two_offline_runs(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offline(tmp_path, monkeypatch)
    caps = two_captures(tmp_path)
    runs = {}
    for side, cap in caps.items():
        done = cli("log", str(cap), "--wandb", "--project", "demo", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""  # wandb's own lines are kept off the terminal
        first, second = done.stdout.splitlines()
        match = _LOGGED.match(first)
        assert match and match.group(1) == str(cap), first
        assert match.group(3).startswith("wandb-dir/wandb/offline-run-")  # shown from cwd
        assert second == f"offline: `wandb sync {match.group(3)}` uploads it"
        folder = tmp_path / match.group(3)
        _check_run(folder, cap, side)
        runs[side] = (match.group(2), folder)
    (id_a, folder_a), (id_b, folder_b) = runs["a"], runs["b"]
    # A run is its ID (a folder under $WANDB_DIR/wandb) or its folder.
    for a, b in ((id_a, id_b), (str(folder_a), str(folder_b))):
        diff = cli("diff", "--wandb", a, b, cwd=tmp_path)
        assert diff.returncode == 1, diff.stderr
        assert "filelock is at another version" in diff.stdout
        assert "expected 3.16.1, found 3.16.2" in diff.stdout
        assert "gpu.arch-changed" in diff.stdout and "run on NVIDIA A100-SXM4-80GB" in diff.stdout
    same = cli("diff", "--wandb", id_a, str(folder_a), cwd=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr
    # --run-id names the run (resumed when it exists): its folder ends with that ID.
    named = cli("log", str(caps["b"]), "--wandb", "--run-id", "trainrun1", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    match = _LOGGED.match(named.stdout)
    assert match and match.group(2) == "trainrun1" and match.group(3).endswith("-trainrun1")
    again = cli("diff", "--wandb", "trainrun1", id_b, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_repro_verdict_goes_with_the_run(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A capture whose repro.toml was recorded with its lock: the run's config and summary hold
    ``envsnap/repro`` and ``envsnap/repro_summary``, and repro.toml is in the artifact."""
    _offline(tmp_path, monkeypatch)
    cap = two_captures(tmp_path)["a"]
    line = "not reproducible: model.safetensors 12 of 14 tensors differ (max 4 ulps)"
    write_repro(cap, reproducible=False, summary=line)
    done = cli("log", str(cap), "--wandb", "--project", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    logged = re.match(r"^logged \S+ to W&B run \S+ in (\S+): 6 files, 18 facts, ", done.stdout)
    assert logged, done.stdout
    folder = tmp_path / logged.group(1)
    held = wandb_run(folder)
    for where in ("config", "summary"):
        assert held[where]["envsnap/repro"] is False
        assert held[where]["envsnap/repro_summary"] == line
    (artifact,) = held["artifacts"]
    assert artifact["files"] == sorted([*FILES, "repro.toml"])
    assert artifact["metadata"]["repro"] is False
    saved = folder / "files" / "envsnap" / "repro.toml"
    assert saved.read_bytes() == (cap / "repro.toml").read_bytes()


def test_bad_runs_are_one_line(cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _offline(tmp_path, monkeypatch)
    empty = tmp_path / "wandb-dir" / "wandb" / "offline-run-20260101_000000-empty1"
    empty.mkdir(parents=True)
    cases = {
        ("diff", "--wandb", "empty1", "empty1"): "no envsnap capture in this W&B run folder",
        ("diff", "--wandb", "nosuchrun", "x"): "no run folder for it under",
        ("diff", "--wandb", "a/b/c/d", "x"): "not a W&B run",
        ("log", str(tmp_path), "--wandb", "--run-id", "x;y"): "not a W&B run id",
        ("log", str(tmp_path), "--wandb", "--repo", "r"): "--repo goes with --aim, not --wandb",
        ("log", str(tmp_path), "--wandb"): "pylock.toml",
    }
    for args, expected in cases.items():
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("envsnap: error: ") and expected in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_no_key_password_or_host_reaches_the_terminal(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, echo_server: EchoServer
) -> None:
    key = "0123456789abcdef0123456789abcdef01234567"
    host = "127.0.0.1"
    tracker_env(
        tmp_path,
        monkeypatch,
        WANDB_API_KEY=key,
        WANDB_BASE_URL=f"http://alice:s3cr3tpw@{host}:{echo_server.port}",
        WANDB_INIT_TIMEOUT="60",
    )
    cap = two_captures(tmp_path)["a"]
    basic = base64.b64encode(f"api:{key}".encode()).decode()
    for args in (
        ("log", str(cap), "--wandb", "--project", "demo"),
        ("diff", "--wandb", "team/demo/run1", "team/demo/run2"),
    ):
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("envsnap: error: W&B: "), done.stderr
        printed = done.stdout + done.stderr
        for secret in (key, basic, "s3cr3tpw", "alice", host):
            assert secret not in printed, (secret, printed)
    # the server did see the key: the echo in its answer is what was withheld
    assert any(basic in request for request in echo_server.requests)


def test_without_wandb_installed_the_error_says_how_to_install_it(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offline(tmp_path, monkeypatch)
    cap = two_captures(tmp_path)["a"]
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "wandb.py").write_text("raise ImportError('blocked for the test')\n")
    done = cli("log", str(cap), "--wandb", env={"PYTHONPATH": f"{blocker}:{ROOT}"})
    assert done.returncode == 2
    assert done.stderr == (
        "envsnap: error: wandb is not installed in this environment\n  hint: pip install wandb\n"
    )
