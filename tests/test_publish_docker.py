"""`rebuild --push` through a real daemon to a real (loopback) registry that asks for a login,
then the report's `docker run` line, run as written on the image pulled by its digest.

The registry is the tests' in-memory Docker Registry HTTP API v2 (tests/test_rebuild_pin.py)
behind HTTP Basic authentication: the push only succeeds when the credentials of the Docker
client config (``$DOCKER_CONFIG/config.json``, as the docker CLI reads it) reach the daemon,
and the test checks that envsnap wrote them nowhere.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats.image import load
from tests.fakes.docker import image_ids, remove_new_dangling_images, run_container
from tests.fakes.registry import RegistryHandler, serve, small_capture

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CLI = Callable[..., subprocess.CompletedProcess[str]]
USER, SECRET = "envsnap-ci", "s3cret-Token-4a1f"


class _LoginRegistry(RegistryHandler):
    """The in-memory registry, answering 401 to any request without the right Basic login."""

    expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    seen_login = False

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.headers.get("Authorization") == self.expected:
            type(self).seen_login = True
            return True
        self.close_connection = True  # the request body, if any, is not read
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="envsnap-test"')
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False


@contextlib.contextmanager
def login_registry() -> Iterator[tuple[str, type[_LoginRegistry]]]:
    with serve(_LoginRegistry) as (host, handler):
        yield host, handler


def test_push_records_the_digest_and_the_reports_docker_run_line_runs(
    cli: CLI, tmp_path: Path, python_slim_image: str, docker_client: Any
) -> None:
    import docker

    before = image_ids(docker_client)
    cap = small_capture(tmp_path)
    config = tmp_path / "docker-config"
    config.mkdir()
    made: list[str] = []
    try:
        with login_registry() as (host, handler):
            token = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
            (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": token}}}))
            env = {"DOCKER_CONFIG": str(config), "ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
            ref = f"{host}/envsnap-test/published:1"
            made.append(ref)
            done = cli(
                "rebuild", str(cap), "--wheelhouse", "--base-image", python_slim_image,
                "--push", ref, cwd=tmp_path, env=env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert handler.seen_login
            record = load(cap / "image.toml")
            repo = f"{host}/envsnap-test/published"
            assert record.pushed == ref
            assert record.pushed_digest.startswith(f"{repo}@sha256:")
            made.append(record.pushed_digest)
            assert f"pushed to {ref}; pull it as {record.pushed_digest}\n" in done.stdout
            assert "pushed" in done.stderr and "layer " in done.stderr  # per-layer progress
            # Nothing envsnap wrote or printed holds the credentials.
            report = cli("report", str(cap), "-o", str(tmp_path / "R.md"), cwd=tmp_path)
            assert report.returncode == 0, report.stderr
            for text in (
                done.stdout,
                done.stderr,
                report.stdout,
                *(p.read_text(errors="replace") for p in cap.iterdir() if p.is_file()),
                (tmp_path / "R.md").read_text(),
            ):
                assert SECRET not in text and token not in text
            # Pull by digest after the local copy is gone: the registry serves exactly it.
            docker_client.remove_image(ref)
            auth = {"username": USER, "password": SECRET}
            docker_client.pull(repo, tag=record.pushed_digest.split("@")[1], auth_config=auth)
            pulled = docker_client.inspect_image(record.pushed_digest)
            assert pulled["Id"] == record.image_id
        # The report's docker run line, as written (the registry is gone: it runs the pull).
        text = (tmp_path / "R.md").read_text()
        # Recorded, not proven: nothing fetched it by digest (report --verify does).
        assert f"- [ ] example environment: the image `{record.pushed_digest}`, recorded" in text
        line = next(s.strip() for s in text.splitlines() if s.strip().startswith("docker run "))
        argv = shlex.split(line)
        assert argv[:4] == ["docker", "run", "--rm", record.pushed_digest]
        if shutil.which("docker"):
            ran = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
            code, output = ran.returncode, ran.stdout + ran.stderr
        else:  # the same container through the Engine API
            code, output = run_container(argv[3], argv[4:])
        assert code == 0, output
        # The image checks itself: no error, no warning (this capture has no hardware.toml,
        # which check reports as info).
        assert "0 error(s), 0 warning(s)" in output or "matches the capture" in output, output
    finally:
        for ref in reversed(made):
            with contextlib.suppress(docker.errors.APIError):
                docker_client.remove_image(ref)
        remove_new_dangling_images(docker_client, before)


def test_push_refuses_a_bad_reference_before_building(cli: CLI, tmp_path: Path) -> None:
    cap = small_capture(tmp_path)
    for bad in ("Upper/Case:1", "a b", "x@sha256:" + "0" * 64, "$(id)"):
        done = cli("rebuild", str(cap), "--push", bad, cwd=tmp_path)
        assert done.returncode == 2 and "--push: not an image reference" in done.stderr
        assert "Traceback" not in done.stderr
    both = cli("rebuild", str(cap), "--no-build", "--push", "reg.example/x:1", cwd=tmp_path)
    assert both.returncode == 2 and "only meaningful when building" in both.stderr
    assert not (cap / "image.toml").exists()
