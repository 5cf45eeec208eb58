"""Pinning the base by digest, through a real daemon and a real (loopback) registry.

A base image with a registry digest is what a pulled image is; no registry can be reached here,
so the test pushes the local base to a small Docker Registry HTTP API v2 served on loopback (the
daemon treats 127.0.0.0/8 as an insecure registry: plain HTTP). The first rebuild records the
digest in image.toml; then the tag is moved to an image with no Python at all, and the second
rebuild still builds, because its FROM lines name the recorded digest; `--no-pin` follows the
moved tag. The capture holds a locked sdist too: the image installs the wheel that
`--wheelhouse` built from it on the host.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats.image import load
from tests.fakes.docker import image_ids, remove_new_dangling_images, run_container
from tests.fakes.registry import serve, small_capture

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CLI = Callable[..., subprocess.CompletedProcess[str]]


@contextlib.contextmanager
def registry() -> Iterator[str]:
    """A registry on loopback; yields its ``127.0.0.1:PORT`` host."""
    with serve() as (host, _handler):
        yield host


def push(client: Any, repo: str, tag: str) -> None:
    """`docker push repo:tag`, failing the test with the daemon's error."""
    for chunk in client.push(repo, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            pytest.fail(f"docker push {repo}:{tag}: {chunk['error']}")


def test_recorded_digest_pins_the_base_after_its_tag_moved(
    cli: CLI, tmp_path: Path, python_slim_image: str, docker_client: Any
) -> None:
    import docker

    other = "envsnap-local/debian:bookworm-minbase"  # .ci/docker-setup makes it: no Python
    try:
        docker_client.inspect_image(other)
    except docker.errors.ImageNotFound:
        pytest.skip(f"{other} is not on the daemon; run .ci/docker-setup")
    before = image_ids(docker_client)
    cap = small_capture(tmp_path)
    cache = {"ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
    tag = "envsnap-test/pin:1"
    made: list[str] = []
    try:
        with registry() as host:
            repo = f"{host}/envsnap-test/python"
            base = f"{repo}:slim"
            docker_client.tag(python_slim_image, repo, "slim")
            made.append(base)
            push(docker_client, repo, "slim")
        digests = docker_client.inspect_image(base)["RepoDigests"]
        assert len(digests) == 1 and digests[0].startswith(f"{repo}@sha256:"), digests
        made += [digests[0], tag, tag + "b"]
        args = ["rebuild", str(cap), "--wheelhouse", "--base-image", base]
        first = cli(*args, "-t", tag, cwd=tmp_path, env=cache)
        assert first.returncode == 0, first.stderr
        record = load(cap / "image.toml")
        assert (record.base_image, record.base_digest) == (base, digests[0])
        # The tag moves to an image without Python, and the registry is gone.
        docker_client.tag(other, repo, "slim")
        pinned = f"{base}@{digests[0].split('@')[1]}"
        second = cli(*args, "-t", tag + "b", cwd=tmp_path, env=cache)
        assert second.returncode == 0, second.stderr
        assert f"base image: {pinned} (chosen with --base-image)" in second.stdout
        assert "envsnap: Pinned by digest from image.toml" in second.stderr
        script = "import demo, sdpkg; print(demo.VERSION, sdpkg.VERSION)"
        code, out = run_container(tag + "b", ["python", "-c", script])
        assert (code, out.strip()) == (0, "1.0 2.0")
        # --no-pin follows the moved tag (rendered only: a build on it would fail at once).
        assert docker_client.inspect_image(base)["Id"] == docker_client.inspect_image(other)["Id"]
        unpinned = cli(*args, "--no-pin", "--no-build", cwd=tmp_path, env=cache)
        assert unpinned.returncode == 0, unpinned.stderr
        assert f"FROM {base} AS envsnap-builder\n" in unpinned.stdout
        assert "@sha256:" not in unpinned.stdout
    finally:
        for ref in reversed(made):
            with contextlib.suppress(docker.errors.APIError):
                docker_client.remove_image(ref)
        remove_new_dangling_images(docker_client, before)
