"""The one view of a capture that every tracker logs (envsnap.trackers.view), what the three
integrations make of it, the redaction of tracker error text, and the import cost.

The trackers' own tests (test_mlflow, test_wandb, test_aim) check what each library stored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envsnap import aim as aim_integration
from envsnap import mlflow as mlflow_integration
from envsnap import wandb as wandb_integration
from envsnap._redact import WITHHELD, text
from envsnap.errors import InputError
from envsnap.formats.capture import write
from envsnap.model import Snapshot, replace
from envsnap.trackers.common import failure, restore
from envsnap.trackers.view import FACTS, MAX_VALUE, as_text, view
from tests.fakes import samples, snapshots
from tests.fakes.imports import loaded
from tests.fakes.publish import gpu_snapshot, write_repro
from tests.fakes.trackers import expected_facts, expected_packages, two_captures

# The view's key list is a contract: trackers' saved searches and dashboards use these names.
KEYS = (
    "version",
    "python",
    "os",
    "packages",
    "lock_digest",
    "gpu",
    "gpu_count",
    "driver",
    "cuda_driver",
    "cuda",
    "frameworks",
    "commit",
    "dirty",
    "determinism",
    "determinism_missing",
    "numerics_digest",
    "repro",
    "repro_summary",
    "image",
)
# The MLflow tags envsnap set before the view: searches in use rely on these names.
OLD_MLFLOW_TAGS = {
    "envsnap.version",
    "envsnap.python",
    "envsnap.lock_digest",
    "envsnap.packages",
    "envsnap.gpu_count",
    "envsnap.gpu",
    "envsnap.driver",
    "envsnap.cuda_driver",
    "envsnap.cuda",
    "envsnap.numerics_digest",
    "envsnap.commit",
    "envsnap.dirty",
}


class Verdict:
    """A verdict given by the caller (any object with these, as `ReproRecord` has)."""

    def __init__(self, reproducible: bool, summary: str) -> None:
        self.reproducible = reproducible
        self.summary = summary


def test_the_key_list_is_stable() -> None:
    assert FACTS == KEYS


def test_view_of_a_gpu_capture_holds_every_fact(tmp_path: Path) -> None:
    caps = two_captures(tmp_path)
    for side, cap in caps.items():
        seen = view(cap)
        assert seen.facts == expected_facts(cap, side)
        assert list(seen.facts) == [k for k in KEYS if k in seen.facts]  # in the contract's order
        assert seen.packages == expected_packages(side)
        assert list(seen.files) == [
            "pylock.toml",
            "requirements.txt",
            "hardware.toml",
            "project.toml",
            "numerics.toml",
        ]


def test_the_repro_verdict_has_its_slot(tmp_path: Path) -> None:
    cap = two_captures(tmp_path)["a"]
    line = "reproducible: 2 runs, 1 output, 14 tensors bit-identical"
    seen = view(cap, repro=Verdict(True, line))
    assert (seen.facts["repro"], seen.facts["repro_summary"]) == (True, line)
    assert list(seen.facts)[-2:] == ["repro", "repro_summary"]
    failed = view(cap, repro=Verdict(False, "not reproducible: model.safetensors differs"))
    assert failed.facts["repro"] is False
    assert "repro" not in view(cap).facts
    # every tracker carries it
    assert mlflow_integration._tags(seen)["envsnap.repro"] == "true"
    assert wandb_integration.config(seen)["envsnap/repro_summary"] == line
    assert aim_integration.params(seen)["repro"] is True


def test_the_recorded_verdict_fills_the_slot_and_its_file_is_attached(tmp_path: Path) -> None:
    """repro.toml, read by the in door with the rest of the capture: its verdict when it was
    recorded with this capture's lock, nothing when with another (another environment's
    verdict says nothing of this one); the file is attached either way."""
    cap = two_captures(tmp_path)["a"]
    line = "not reproducible: model.safetensors 12 of 14 tensors differ (max 4 ulps)"
    write_repro(cap, reproducible=False, summary=line)
    seen = view(cap)
    assert (seen.facts["repro"], seen.facts["repro_summary"]) == (False, line)
    assert list(seen.files)[-1] == "repro.toml"
    assert seen.files["repro.toml"] == (cap / "repro.toml").read_text(encoding="utf-8")
    assert mlflow_integration._tags(seen)["envsnap.repro"] == "false"
    assert wandb_integration.config(seen)["envsnap/repro"] is False
    assert aim_integration.params(seen)["repro_summary"] == line
    write_repro(cap, lock_digest="sha256:" + "0" * 64)
    other = view(cap)
    assert "repro" not in other.facts and "repro_summary" not in other.facts
    assert "repro.toml" in other.files
    (cap / "repro.toml").write_text("version = 1\n")  # the in door names the file and field
    with pytest.raises(InputError, match=r"repro\.toml: verdict: missing"):
        view(cap)


def test_a_capture_without_gpu_git_or_numerics_leaves_those_out(tmp_path: Path) -> None:
    cap = tmp_path / "cpu"
    write(Snapshot(environment=samples.cpu_env()), cap)
    facts = view(cap).facts
    assert facts["gpu_count"] == 0
    assert set(facts) == {
        "version",
        "python",
        "os",
        "packages",
        "lock_digest",
        "gpu_count",
        "determinism",
        "determinism_missing",
    }
    assert facts["determinism"] == "PYTHONHASHSEED=0"


def test_missing_determinism_settings_are_named(tmp_path: Path) -> None:
    snap = snapshots.with_envvars(gpu_snapshot(), CUBLAS_WORKSPACE_CONFIG=None, PYTHONHASHSEED=None)
    write(snap, tmp_path / "cap")
    facts = view(tmp_path / "cap").facts
    assert facts["determinism"] == "none"
    assert "CUBLAS_WORKSPACE_CONFIG=:4096:8" in str(facts["determinism_missing"]).split()


def test_hostile_text_is_escaped_and_cut(tmp_path: Path) -> None:
    env = samples.cpu_env()
    hostile = replace(env.os, pretty_name="Debian\x1b]0;pwned\x07" + "x" * 600)
    write(Snapshot(environment=replace(env, os=hostile)), tmp_path / "cap")
    value = view(tmp_path / "cap").facts["os"]
    assert isinstance(value, str) and len(value) == MAX_VALUE
    assert "\x1b" not in value and value.startswith("Debian\\x1b]0;pwned\\x07")


def test_a_fifo_in_the_capture_is_refused(tmp_path: Path) -> None:
    cap = two_captures(tmp_path)["a"]
    os.mkfifo(cap / "image.toml")
    with pytest.raises(InputError, match=r"image\.toml"):
        view(cap)


def test_the_three_trackers_spell_the_same_facts(tmp_path: Path) -> None:
    seen = view(two_captures(tmp_path)["b"])
    tags = mlflow_integration._tags(seen)
    config = wandb_integration.config(seen)
    params = aim_integration.params(seen)
    for name, value in seen.facts.items():
        assert tags[f"envsnap.{name}"] == as_text(value)
        assert config[f"envsnap/{name}"] == value
        assert params[name] == value
    assert tags["envsnap.package.filelock"] == config["envsnap/package"]["filelock"] == "3.16.2"
    assert params["package"] == config["envsnap/package"] == expected_packages("b")
    assert {k for k in tags if not k.startswith("envsnap.package.")} >= OLD_MLFLOW_TAGS - {
        "envsnap.image"
    }


def test_as_text() -> None:
    assert [as_text(True), as_text(False), as_text(2), as_text("a")] == ["true", "false", "2", "a"]


def test_free_text_redaction() -> None:
    line = (
        "API request to https://alice:pw9@mlflow.corp:5000/api/2.0/runs?token=SECRET1&x=1 failed:"
        " 401 for key KEY0123456789\x1b[2J"
    )
    got = text(line, secrets=("KEY0123456789", "mlflow.corp"))
    for word in ("alice", "pw9", "SECRET1", "KEY0123456789", "mlflow.corp", "\x1b"):
        assert word not in got
    assert f"https://{WITHHELD}:5000/api/2.0/runs failed" in got and got.endswith("\\x1b[2J")
    assert text("plain words", secrets=("ab",)) == "plain words"  # too short a secret is no secret


def test_a_tracker_error_names_no_token_host_or_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://bobby:hunter2@tracking.example:443/x")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-0987654321")
    import base64

    basic = base64.b64encode(b"api:" + b"k" * 40).decode()
    exc = RuntimeError(
        f"Authorization: Basic {basic} rejected by tracking.example for bobby (tok-0987654321)\n"
        "key " + "k" * 40
    )
    error = failure("MLflow", exc, hint="h")
    assert error.exit_code == 2 and error.hint == "h"
    message = error.message
    assert message.startswith("MLflow: Authorization: Basic ") and "\n" not in message
    for word in (basic, "tracking.example", "bobby", "hunter2", "tok-0987654321", "k" * 40):
        assert word not in message


def test_restore_writes_only_capture_files(tmp_path: Path) -> None:
    out = restore({"pylock.toml": "x", "hardware.toml": "y"}, tmp_path / "c")
    assert sorted(p.name for p in out.iterdir()) == ["hardware.toml", "pylock.toml"]
    with pytest.raises(InputError, match="not a capture file"):
        restore({"../evil.sh": "x"}, tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_tracker_libraries_are_imported_only_when_used() -> None:
    code = (
        "import envsnap.cli, envsnap.mlflow, envsnap.wandb, envsnap.aim, envsnap.trackers.view,"
        " envsnap.trackers.common, envsnap.commands.log, envsnap.commands.diff;"
        "envsnap.cli.build_parser()"
    )
    assert loaded(code, ("mlflow", "wandb", "aim", "numpy")) == []


def test_a_conda_capture_shows_its_conda_packages_beside_pips(tmp_path: Path) -> None:
    """A tracker compares runs by package name: a conda environment's packages (python, numpy)
    are there with pip's (tqdm), and conda-lock.yml is attached."""
    cap = tmp_path / "conda"
    write(Snapshot(environment=samples.conda_env()), cap)
    seen = view(cap)
    assert seen.packages == {"numpy": "1.26.4", "python": "3.11.7", "tqdm": "4.67.1"}
    assert "conda-lock.yml" in seen.files
    assert mlflow_integration._tags(seen)["envsnap.package.numpy"] == "1.26.4"
    assert aim_integration.params(seen)["package"]["python"] == "3.11.7"
