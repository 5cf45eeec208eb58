"""envsnap.mlflow against a real local tracking store: MLflow's own client on a SQLite database
in tmp (no mocks, no server). Tags are found with mlflow.search_runs, artifacts download, and
`envsnap diff --mlflow` shows the package that changed between two runs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envsnap.formats.capture import write
from envsnap.formats.project import ProjectState
from envsnap.model import Snapshot, replace
from tests.fakes import samples
from tests.fakes.imports import loaded
from tests.fakes.publish import NUMERICS, gpu_snapshot, write_repro

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
    tags = result.tags
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
    from envsnap.mlflow import log_capture, tags

    cap = capture(tmp_path / "cap", Snapshot(environment=samples.cpu_env()))
    assert "envsnap.repro" not in tags(cap)
    write_repro(cap, reproducible=False, summary="not reproducible: model.pt \x1b[2J4 of 4")
    with mlflow.start_run() as run:
        result = log_capture(cap)
    assert "repro.toml" in result.files
    assert result.tags["envsnap.repro"] == "not reproducible"
    assert result.tags["envsnap.repro_summary"] == "not reproducible: model.pt ?[2J4 of 4"
    found = mlflow.search_runs(
        experiment_ids=[tracking["MLFLOW_EXPERIMENT_ID"]],
        filter_string="tags.`envsnap.repro` = 'not reproducible'",
        output_format="list",
    )
    assert run.info.run_id in [r.info.run_id for r in found]
    write_repro(cap, lock_digest="sha256:" + "0" * 64)  # recorded with another environment
    assert "envsnap.repro" not in tags(cap)


def test_cli_log_and_diff_of_two_runs_shows_the_changed_package(
    cli: CLI, tracking: dict[str, str], tmp_path: Path
) -> None:
    a = capture(tmp_path / "a", Snapshot(environment=samples.cpu_env()))
    changed = tuple(
        replace(p, version="2.32.4") if p.name == "requests" else p
        for p in samples.cpu_env().packages
    )
    b = capture(tmp_path / "b", Snapshot(environment=replace(samples.cpu_env(), packages=changed)))
    runs = []
    for cap in (a, b):
        done = cli("log", str(cap), "--mlflow", env=tracking, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"logged 3 file(s) of {cap} and ")
        runs.append(done.stdout.split()[-1])
    assert runs[0] != runs[1]
    same = cli("diff", "--mlflow", runs[0], runs[0], env=tracking, cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    # These captures hold no hardware.toml: the only finding says hardware was not compared.
    assert same.stdout.endswith("0 error(s), 0 warning(s), 1 info: compatible\n"), same.stdout
    assert "hardware.skipped" in same.stdout
    diff = cli("diff", "--mlflow", runs[0], runs[1], env=tracking, cwd=tmp_path)
    assert diff.returncode == 1, diff.stderr
    assert "requests" in diff.stdout and "2.32.3" in diff.stdout and "2.32.4" in diff.stdout
    # An existing run, logged to again by id, gets the same tags.
    with mlflow.start_run() as run:
        pass
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
    assert bad_id.returncode == 2
    no_tracker = cli("log", str(tmp_path), env=tracking)
    assert no_tracker.returncode == 2 and "--mlflow" in no_tracker.stderr


def test_mlflow_is_imported_only_when_used() -> None:
    code = (
        "import envsnap.cli, envsnap.mlflow, envsnap.commands.log, envsnap.commands.report;"
        "envsnap.cli.build_parser()"
    )
    assert loaded(code, ("mlflow", "docker")) == []
