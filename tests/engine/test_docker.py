"""The Docker Engine adapter: unreachable daemons and a missing SDK without Docker; real
builds and runs on a daemon when one answers (``@pytest.mark.docker``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap.engine import Cached, Done, Output, Step, StepFailed, get_engine
from envsnap.engine.docker import DEFAULT_HOST, DockerEngine, daemon_host
from envsnap.errors import EnvsnapError
from tests.fakes.docker import run_container

ROOT = Path(__file__).resolve().parent.parent.parent


def test_daemon_host_follows_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert daemon_host() == DEFAULT_HOST == "unix:///var/run/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    assert daemon_host() == "unix:///nonexistent.sock"
    assert DockerEngine().host == "unix:///nonexistent.sock"


def test_unreachable_daemon_is_one_line_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("docker", reason="the docker SDK is not installed")
    engine = DockerEngine("unix:///nonexistent.sock")
    with pytest.raises(EnvsnapError) as info:
        list(engine.build(tmp_path, tag=None))
    err = info.value
    assert err.exit_code == 2
    assert str(err) == (
        "cannot reach the Docker daemon at unix:///nonexistent.sock (No such file or directory);"
        " start it or set DOCKER_HOST, or use --no-build to render the context only"
    )


def test_missing_sdk_names_the_extra_and_no_build() -> None:
    # A None entry in sys.modules is how Python itself marks a module as not importable.
    code = (
        "import sys; sys.modules['docker'] = None\n"
        "from pathlib import Path\n"
        "from envsnap.engine.docker import DockerEngine\n"
        "from envsnap.errors import EnvsnapError\n"
        "try:\n    list(DockerEngine().build(Path('.'), tag=None))\n"
        "except EnvsnapError as e:\n    print(e.exit_code, e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.startswith("2 cannot use the Docker daemon at ")
    assert "pip install docker" in out.stdout
    assert "--no-build" in out.stdout
    assert len(out.stdout.splitlines()) == 1


def test_get_engine_knows_docker_only() -> None:
    assert isinstance(get_engine("docker"), DockerEngine)
    with pytest.raises(KeyError, match="known: docker"):
        get_engine("buildx")


def write_context(path: Path, dockerfile: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (path / "hello.txt").write_text("hello from the context\n", encoding="utf-8")
    return path


@pytest.mark.docker
def test_build_and_run_a_tiny_context(
    tmp_path: Path, docker_client: Any, python_slim_image: str, docker_images: list[str]
) -> None:
    ctx = write_context(
        tmp_path / "ctx",
        f"FROM {python_slim_image}\n"
        "COPY hello.txt /opt/hello.txt\n"
        f'RUN echo "built at {tmp_path.name}" > /opt/stamp && python3 -c "print(6 * 7)"\n',
    )
    tag = f"envsnap-test/tiny:{tmp_path.name.lower()}"
    docker_images.append(tag)
    with DockerEngine() as engine:
        check_tiny_build(engine, ctx, tag, docker_client, python_slim_image, tmp_path)


def check_tiny_build(
    engine: DockerEngine, ctx: Path, tag: str, docker_client: Any, base_tag: str, tmp_path: Path
) -> None:
    events = list(engine.build(ctx, tag=tag, verbose=True))
    assert [e.number for e in events if isinstance(e, Step)] == [1, 2, 3]
    assert Output("42") in events
    done = events[-1]
    assert isinstance(done, Done)
    base = docker_client.inspect_image(base_tag)
    # A locally built base has no registry digest: its image ID pins it.
    assert (done.tag, done.base_image) == (tag, base_tag)
    assert done.base_image_id == done.base_digest == base["Id"]
    assert done.image_id == docker_client.inspect_image(tag)["Id"]

    assert run_container(tag, ["cat", "/opt/hello.txt"]) == (0, "hello from the context\n")
    out = tmp_path / "out"
    out.mkdir()
    code, output = run_container(
        tag, ["sh", "-c", "cp /opt/stamp /out/ && echo bye >&2 && exit 5"], mounts={out: "/out"}
    )
    assert (code, output) == (5, "bye\n")
    assert (out / "stamp").read_text() == f"built at {tmp_path.name}\n"

    again = list(engine.build(ctx, tag=tag))
    assert [e for e in again if isinstance(e, Cached)] == [Cached(2), Cached(3)]
    assert not [e for e in again if isinstance(e, Output)]
    assert isinstance(again[-1], Done) and again[-1].image_id == done.image_id


@pytest.mark.docker
def test_failing_run_step_raises_step_failed(
    tmp_path: Path, python_slim_image: str, docker_client: Any
) -> None:
    ctx = write_context(
        tmp_path / "ctx",
        f"FROM {python_slim_image}\n"
        "RUN echo first step ok\n"
        'RUN for i in $(seq 1 25); do echo "line $i"; done; exit 7\n'
        "RUN echo never\n",
    )
    with pytest.raises(StepFailed) as info, DockerEngine() as engine:
        list(engine.build(ctx, tag=None))
    err = info.value
    assert err.exit_code == 1
    assert err.step == Step(3, 4, 'RUN for i in $(seq 1 25); do echo "line $i"; done; exit 7')
    assert err.tail == tuple(f"line {i}" for i in range(6, 26))
    assert err.message.endswith("the command exited with code 7")
    assert err.details[-1] == "  line 25"
    # forcerm: the failed step's container is gone.
    leftovers = docker_client.containers(all=True, filters={"status": "exited"})
    assert not [c for c in leftovers if "exit 7" in c["Command"]]


def test_cli_rebuild_with_unreachable_daemon_prints_one_error_line(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    pytest.importorskip("docker", reason="the docker SDK is not installed")
    from envsnap.formats import pylock
    from tests.fakes import samples

    pylock.write(tmp_path / "cap" / "pylock.toml", samples.cpu_env())
    env = {"DOCKER_HOST": "unix:///nonexistent.sock"}
    done = cli("rebuild", str(tmp_path / "cap"), env=env, cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors == [
        "envsnap: error: cannot reach the Docker daemon at unix:///nonexistent.sock (No such file"
        " or directory); start it or set DOCKER_HOST, or use --no-build to render the context only"
    ]
    assert "Traceback" not in done.stderr


def test_the_base_digest_is_the_one_of_its_repository() -> None:
    from envsnap.engine.docker import _digest_for, _repository

    assert _repository("localhost:5000/py:3.11@sha256:" + "a" * 64) == "localhost:5000/py"
    assert _repository("localhost:5000/py") == "localhost:5000/py"
    assert _repository("python:3.11.7-slim-bookworm") == "python"
    mirror, hub = "mirror.example/python@sha256:" + "1" * 64, "python@sha256:" + "2" * 64
    assert _digest_for("python:3.11.7-slim-bookworm", [mirror, hub]) == hub
    assert _digest_for("mirror.example/python:3.11", [hub, mirror]) == mirror
    assert _digest_for("other:1", [mirror]) == mirror  # none matches: the first one
    assert _digest_for("python:3.11", []) == ""
