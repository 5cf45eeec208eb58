"""Docker fixtures (registered through tests/conftest.py): a real daemon or a clear skip.

Tests marked ``@pytest.mark.docker`` take `docker_client` (the SDK's low-level APIClient on the
daemon at DOCKER_HOST or the default socket) and skip with the reason when none answers; set
ENVSNAP_REQUIRE_DOCKER=1 to make that a failure instead (CI, after .ci/docker-setup).
`python_slim_image` is the local base image that rendered Dockerfiles name for this Python.

Test runs that share one daemon delete each other's intermediate images, so each docker-marked
test (its setup, call and teardown) runs holding `LOCK` (``flock /tmp/envsnap-docker.lock``),
which every engineer's docker work takes; `docker_lock` sees when a parent (``flock LOCK make
test``) already holds it, and then serialises that run's workers with a lock of their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "LOCK",
    "daemon_unavailable",
    "docker_client",
    "docker_images",
    "docker_lock",
    "image_ids",
    "python_slim_image",
    "remove_new_dangling_images",
    "require_docker",
    "run_container",
]

SETUP_HINT = "run .ci/docker-setup (starts dockerd and builds the local base images)"
LOCK = Path(os.environ.get("ENVSNAP_DOCKER_LOCK", "/tmp/envsnap-docker.lock"))


def _inherited_lock() -> bool:
    """True when this process or one of its parents holds `LOCK` (``flock LOCK make test``):
    locking the file again through a new descriptor would wait for ourselves forever."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return False
    for fd in fds.iterdir():
        try:
            if Path(os.readlink(fd)) != LOCK:
                continue
            fcntl.flock(int(fd.name), fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours: succeeds at once
        except OSError:
            continue
        return True
    # A pytest-xdist worker does not inherit the descriptor (its start closes them), but the
    # `flock` that holds the lock is one of its parents.
    holders = _holders()
    pid = os.getppid()
    while pid > 1:
        if pid in holders:
            return True
        pid = _parent(pid)
    return False


def _holders() -> set[int]:
    """The processes holding a flock on `LOCK`, from /proc/locks (waiters left out)."""
    try:
        st = LOCK.stat()
        table = Path("/proc/locks").read_text()
    except OSError:
        return set()
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    out = set()
    for line in table.splitlines():
        # "3: FLOCK  ADVISORY  WRITE 18255 fe:00:2146885 0 EOF"; a waiter has "->" after "3:"
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == where:
            out.add(int(fields[4]))
    return out


def _parent(pid: int) -> int:
    """The parent of process *pid*, or 0 when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rpartition(")")[2].split()[1])  # after the name, which may hold spaces


@contextlib.contextmanager
def docker_lock() -> Iterator[None]:
    """Hold the machine's docker lock (waiting for other runs); when a parent holds it, hold
    the lock beside it (``LOCK.workers``) instead: the run's xdist workers all inherit the
    parent's lock, and without one of their own they build at once, each deleting the other's
    intermediate images (`remove_new_dangling_images`) under a build still using them."""
    path = LOCK.with_name(LOCK.name + ".workers") if _inherited_lock() else LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


_HELD: list[contextlib.ExitStack] = []  # the lock this process holds across a module's tests


def _docker(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker("docker") is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Docker-marked tests run under `docker_lock`, held from the first of a module's docker
    tests to the teardown of its last: its module fixtures (an image built once and tagged
    with a fixed name) stay whole while other runs wait, and other runs get the daemon
    between modules."""
    if not _docker(item) and not _HELD:
        return (yield)
    if _docker(item) and not _HELD:
        stack = contextlib.ExitStack()
        stack.enter_context(docker_lock())
        _HELD.append(stack)
    try:
        return (yield)
    finally:
        module = getattr(item, "module", None)
        same_module = nextitem is not None and getattr(nextitem, "module", None) is module
        if _HELD and not (same_module and _docker(nextitem)):
            _HELD.pop().close()


def require_docker(reason: str) -> None:
    """Skip with *reason*, or fail when ENVSNAP_REQUIRE_DOCKER=1 asks for Docker tests to run."""
    if os.environ.get("ENVSNAP_REQUIRE_DOCKER") == "1":
        pytest.fail(f"Docker required (ENVSNAP_REQUIRE_DOCKER=1): {reason}")
    pytest.skip(reason)


def daemon_unavailable() -> str | None:
    """Why no Docker daemon can be used here (the SDK missing, none answering), or None."""
    from envsnap.engine.docker import DockerEngine
    from envsnap.errors import EnvsnapError

    try:
        import docker  # noqa: F401  (the SDK the engine needs)
    except ImportError:
        return "the docker SDK is not installed (pip install docker)"
    engine = DockerEngine()
    try:
        engine.api()
    except EnvsnapError as exc:
        return f"{str(exc).partition(';')[0]}; {SETUP_HINT}"
    finally:
        engine.close()
    return None


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """The daemon's low-level API client; skips the test when no daemon answers."""
    from envsnap.engine.docker import DockerEngine

    why = daemon_unavailable()
    if why:
        require_docker(why)
    engine = DockerEngine()
    yield engine.api()
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
