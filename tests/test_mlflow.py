"""envsnap.mlflow against a real local tracking store: MLflow's own client on a SQLite database
in tmp (no mocks, no server). Tags are found with mlflow.search_runs, artifacts download, and
`envsnap diff --mlflow` shows the package and the GPU model that changed between two runs. A
loopback server that echoes what it is sent stands in for a tracking server to prove that no
token, password or host reaches the terminal."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envsnap.formats.capture import write
from envsnap.formats.project import ProjectState
from envsnap.model import Snapshot
from tests.fakes import samples
from tests.fakes.imports import loaded
from tests.fakes.publish import NUMERICS, gpu_snapshot, write_repro
from tests.fakes.trackers import (
    EchoServer,
    expected_facts,
    expected_packages,
    tracker_env,
    two_captures,
)

mlflow = pytest.importorskip("mlflow", reason="MLflow is not installed (pip install mlflow-skinny)")
pytest.importorskip("sqlalchemy", reason="the SQLite tracking store needs sqlalchemy")
pytest.importorskip("alembic", reason="the SQLite tracking store needs alembic")

# MLflow's SQL store uses SQLAlchemy options that SQLAlchemy 2.1 deprecates: MLflow's to fix.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning")

CLI = Callable[..., subprocess.CompletedProcess[str]]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A SQLite tracking store (created once: its migrations take seconds) and an experiment
    whose artifacts live in tmp; yields the environment that points MLflow at it."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("envsnap", artifact_location=(root / "art").as_uri())
    env = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_ID": experiment}
    yield env


@pytest.fixture
def tracking(store: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in store.items():
        monkeypatch.setenv(key, value)
    mlflow.set_tracking_uri(store["MLFLOW_TRACKING_URI"])
    return store


def capture(root: Path, snap: Snapshot, numerics: bool = False) -> Path:
    project = ProjectState(status="ok", vcs="git", commit=COMMIT, branch="main")
    write(snap, root, project=project)
    if numerics:
        (root / "numerics.toml").write_text(NUMERICS, encoding="utf-8")
    return root


def test_log_capture_sets_searchable_tags_and_downloadable_artifacts(
    tracking: dict[str, str], tmp_path: Path
) -> None:
    from envsnap.mlflow import log_capture

    cap = capture(tmp_path / "cap", gpu_snapshot(), numerics=True)
    with mlflow.start_run() as run:
        result = log_capture(cap)
    assert result.run_id == run.info.run_id
    assert result.files == (
        "pylock.toml",
        "requirements.txt",
        "hardware.toml",
        "project.toml",
        "numerics.toml",
    )
    tags = result.keys
    assert tags["envsnap.python"] == "3.11.7"
    assert (tags["envsnap.gpu"], tags["envsnap.gpu_count"]) == ("NVIDIA A100-SXM4-80GB", "2")
    assert (tags["envsnap.driver"], tags["envsnap.cuda_driver"]) == ("535.104.05", "12.2")
    assert tags["envsnap.cuda"] == "12.8"
    assert tags["envsnap.lock_digest"].startswith("sha256:")
    assert tags["envsnap.numerics_digest"].startswith("sha256:")
    assert tags["envsnap.commit"] == COMMIT
    experiment = tracking["MLFLOW_EXPERIMENT_ID"]
    found = mlflow.search_runs(
        experiment_ids=[experiment],
        filter_string="tags.`envsnap.gpu` = 'NVIDIA A100-SXM4-80GB' "
        "and tags.`envsnap.gpu_count` = '2' "
        f"and tags.`envsnap.lock_digest` = '{tags['envsnap.lock_digest']}'",
        output_format="list",
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]
    out = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path)))
    assert (out / "envsnap" / "pylock.toml").read_bytes() == (cap / "pylock.toml").read_bytes()
    assert (out / "envsnap" / "numerics.toml").read_bytes() == (cap / "numerics.toml").read_bytes()


def test_the_repro_verdict_is_a_tag_and_its_file_an_artifact(
    tracking: dict[str, str], tmp_path: Path
) -> None:
    """The verdict `envsnap repro` recorded with this capture's lock: tags ``envsnap.repro`` and
    ``envsnap.repro_summary`` as MLflow stores them, repro.toml among the artifacts."""
    from envsnap.mlflow import download_capture, log_capture, tags

    cap = capture(tmp_path / "cap", Snapshot(environment=samples.cpu_env()))
    assert "envsnap.repro" not in tags(cap)
    write_repro(cap, reproducible=False, summary="not reproducible: model.pt \x1b[2J4 of 4")
    result = log_capture(cap)
    assert "repro.toml" in result.files
    stored = mlflow.MlflowClient().get_run(result.run_id).data.tags
    assert stored["envsnap.repro"] == "false"
    assert stored["envsnap.repro_summary"] == "not reproducible: model.pt \\x1b[2J4 of 4"
    found = mlflow.search_runs(
        experiment_ids=[tracking["MLFLOW_EXPERIMENT_ID"]],
        filter_string="tags.`envsnap.repro` = 'false'",
        output_format="list",
    )
    assert [r.info.run_id for r in found] == [result.run_id]
    back = download_capture(result.run_id, tmp_path / "back")
    assert (back / "repro.toml").read_bytes() == (cap / "repro.toml").read_bytes()
    write_repro(cap, lock_digest="sha256:" + "0" * 64)  # recorded with another environment
    assert "envsnap.repro" not in tags(cap)


def test_every_fact_and_package_is_a_tag(tracking: dict[str, str], tmp_path: Path) -> None:
    from envsnap.mlflow import log_capture

    caps = two_captures(tmp_path)
    for side, cap in caps.items():
        result = log_capture(cap)
        got = mlflow.MlflowClient().get_run(result.run_id).data.tags
        for name, value in expected_facts(cap, side).items():
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            assert got[f"envsnap.{name}"] == text, name
        for name, version in expected_packages(side).items():
            assert got[f"envsnap.package.{name}"] == version
    # the old tag names still find runs; the new ones too
    found = mlflow.search_runs(
        experiment_ids=[tracking["MLFLOW_EXPERIMENT_ID"]],
        filter_string="tags.`envsnap.gpu` = 'NVIDIA H100 80GB HBM3'"
        " and tags.`envsnap.dirty` = 'true' and tags.`envsnap.package.filelock` = '3.16.2'"
        " and tags.`envsnap.determinism_missing` = 'none'",
        output_format="list",
    )
    assert len(found) == 1


def test_cli_log_and_diff_of_two_runs_shows_the_changed_package_and_gpu(
    cli: CLI, tracking: dict[str, str], tmp_path: Path
) -> None:
    caps = two_captures(tmp_path)
    runs = []
    for cap in caps.values():
        done = cli("log", str(cap), "--mlflow", env=tracking, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"logged {cap} to MLflow run ")
        assert done.stdout.endswith(": 5 files, 16 facts, 6 package versions\n"), done.stdout
        runs.append(done.stdout.split()[5].rstrip(":"))
    assert runs[0] != runs[1]
    same = cli("diff", "--mlflow", runs[0], runs[0], env=tracking, cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "0 error(s)" in same.stdout and "package.version" not in same.stdout, same.stdout
    diff = cli("diff", "--mlflow", runs[0], runs[1], env=tracking, cwd=tmp_path)
    assert diff.returncode == 1, diff.stderr
    assert "filelock is at another version" in diff.stdout
    assert "expected 3.16.1, found 3.16.2" in diff.stdout
    assert "gpu.arch-changed" in diff.stdout and "run on NVIDIA A100-SXM4-80GB" in diff.stdout
    # An existing run, logged to again by id, gets the same tags.
    with mlflow.start_run() as run:
        pass
    a = capture(tmp_path / "cpu", Snapshot(environment=samples.cpu_env()))
    again = cli("log", str(a), "--mlflow", "--run-id", run.info.run_id, env=tracking, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    got = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
    assert got["envsnap.lock_digest"].startswith("sha256:") and got["envsnap.gpu_count"] == "0"


def test_errors_are_one_line(cli: CLI, tracking: dict[str, str], tmp_path: Path) -> None:
    with mlflow.start_run() as run:  # a run without any envsnap artifact
        pass
    no_capture = cli("diff", "--mlflow", run.info.run_id, run.info.run_id, env=tracking)
    assert no_capture.returncode == 2 and "has no envsnap capture" in no_capture.stderr
    missing = cli("diff", "--mlflow", "0" * 32, run.info.run_id, env=tracking)
    assert missing.returncode == 2 and missing.stderr.startswith("envsnap: error: MLflow: ")
    assert "Traceback" not in missing.stderr + no_capture.stderr
    bad_id = cli("log", str(tmp_path), "--mlflow", "--run-id", "x;y", env=tracking)
    assert bad_id.returncode == 2 and "not an MLflow run id" in bad_id.stderr
    no_tracker = cli("log", str(tmp_path), env=tracking)
    assert no_tracker.returncode == 2 and "--mlflow, --wandb or --aim" in no_tracker.stderr
    other = cli("log", str(tmp_path), "--mlflow", "--project", "p", env=tracking)
    assert other.returncode == 2 and "--project goes with --wandb, not --mlflow" in other.stderr


def test_no_token_password_or_host_reaches_the_terminal(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, echo_server: EchoServer
) -> None:
    host = "127.0.0.1"
    basic = base64.b64encode(b"alice:s3cr3tpw").decode()
    secrets = ("tok-0987654321", "s3cr3tpw", "alice", basic, "QTOKEN99", host)
    cap = two_captures(tmp_path)["a"]
    run_id = "0" * 32
    server = f"{host}:{echo_server.port}"
    settings = (  # a password in the URI (sent as Basic), a token (sent as Bearer), a query token
        {"MLFLOW_TRACKING_URI": f"http://alice:s3cr3tpw@{server}/?token=QTOKEN99"},
        {"MLFLOW_TRACKING_URI": f"http://{server}", "MLFLOW_TRACKING_TOKEN": "tok-0987654321"},
    )
    for setting in settings:
        env = tracker_env(tmp_path, monkeypatch, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", **setting)
        for args in (("log", str(cap), "--mlflow"), ("diff", "--mlflow", run_id, run_id)):
            done = cli(*args, env=env, cwd=tmp_path)
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            assert done.stderr.startswith("envsnap: error: MLflow: "), done.stderr
            printed = done.stdout + done.stderr
            for secret in secrets:
                assert secret not in printed, (secret, printed)
    # the server did see them: the echo in its answers is what was withheld
    seen = "\n".join(echo_server.requests)
    assert f"Basic {basic}" in seen and "Bearer tok-0987654321" in seen and "QTOKEN99" in seen


def test_mlflow_is_imported_only_when_used() -> None:
    code = (
        "import envsnap.cli, envsnap.mlflow, envsnap.commands.log, envsnap.commands.report;"
        "envsnap.cli.build_parser()"
    )
    assert loaded(code, ("mlflow", "docker", "wandb", "aim")) == []
