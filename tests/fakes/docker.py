"""Docker fixtures (registered through tests/conftest.py): a real daemon or a clear skip.

Tests marked ``@pytest.mark.docker`` take `docker_client` (the SDK's low-level APIClient on the
daemon at DOCKER_HOST or the default socket) and skip with the reason when none answers; set
ENVSNAP_REQUIRE_DOCKER=1 to make that a failure instead (CI, after .ci/docker-setup).
`python_slim_image` is the local base image that rendered Dockerfiles name for this Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "docker_client",
    "docker_images",
    "image_ids",
    "python_slim_image",
    "remove_new_dangling_images",
    "require_docker",
    "run_container",
]

SETUP_HINT = "run .ci/docker-setup (starts dockerd and builds the local base images)"


def require_docker(reason: str) -> None:
    """Skip with *reason*, or fail when ENVSNAP_REQUIRE_DOCKER=1 asks for Docker tests to run."""
    if os.environ.get("ENVSNAP_REQUIRE_DOCKER") == "1":
        pytest.fail(f"Docker required (ENVSNAP_REQUIRE_DOCKER=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """The daemon's low-level API client; skips the test when no daemon answers."""
    from envsnap.engine.docker import DockerEngine
    from envsnap.errors import EnvsnapError

    try:
        import docker  # noqa: F401  (the SDK the engine needs)
    except ImportError:
        require_docker("the docker SDK is not installed (pip install docker)")
    engine = DockerEngine()
    try:
        client = engine.api()
    except EnvsnapError as exc:
        require_docker(f"{str(exc).partition(';')[0]}; {SETUP_HINT}")
    yield client
    engine.close()


@pytest.fixture(scope="session")
def python_slim_image(docker_client: Any) -> str:
    """``python:<this X.Y.Z>-slim-bookworm``, as images/python-slim/build.sh makes it."""
    import docker

    tag = "python:{}.{}.{}-slim-bookworm".format(*sys.version_info[:3])
    try:
        docker_client.inspect_image(tag)
    except docker.errors.ImageNotFound:
        require_docker(f"the base image {tag} is not on the daemon; {SETUP_HINT}")
    return tag


@pytest.fixture
def docker_images(docker_client: Any) -> Iterator[list[str]]:
    """A list to append image tags or IDs to; they are removed (with children) after the test."""
    import docker

    made: list[str] = []
    yield made
    for ref in reversed(made):
        with contextlib.suppress(docker.errors.APIError):
            docker_client.remove_image(ref, force=True)


def image_ids(client: Any) -> set[str]:
    """The IDs of every image on the daemon, intermediate ones included."""
    return {str(image["Id"]) for image in client.images(all=True)}


def remove_new_dangling_images(client: Any, before: set[str]) -> None:
    """Remove untagged images that were not there *before* (a multi-stage build's stages).

    The classic builder keeps each stage's image as build cache; a test that built one cleans
    them up this way. Never forced: an image still in use stays.
    """
    import docker

    for image in client.images(filters={"dangling": True}):
        if image["Id"] not in before:
            with contextlib.suppress(docker.errors.APIError):
                client.remove_image(image["Id"])


def run_container(
    image: str,
    cmd: Sequence[str],
    *,
    mounts: Mapping[Path, str] | None = None,
    timeout: float = 600,
) -> tuple[int, str]:
    """Run *cmd* in a new container of *image* on the daemon at DOCKER_HOST (``docker run --rm
    --network host``, through envsnap's own engine); return its exit code and combined output."""
    from envsnap.engine.docker import DockerEngine

    with DockerEngine() as engine:
        return engine.run(
            image, cmd, mounts={str(h): c for h, c in (mounts or {}).items()}, timeout=timeout
        )


DATA = Path(__file__).resolve().parent.parent / "data" / "docker"


def recorded(name: str) -> list[dict[str, object]]:
    """The decoded JSON chunks of a recorded build (see tests/data/docker/README.md)."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]
