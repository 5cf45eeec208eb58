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
import hashlib
import http.server
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats import pylock
from envsnap.formats.image import load
from envsnap.model import replace
from tests.fakes import samples
from tests.fakes.docker import image_ids, remove_new_dangling_images

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CLI = Callable[..., subprocess.CompletedProcess[str]]
_BLOB = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
_UPLOAD = re.compile(r"^/v2/(.+)/blobs/uploads/([0-9a-f-]*)$")
_MANIFEST = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")


class _Registry(http.server.BaseHTTPRequestHandler):
    """The part of the registry API that `docker push` uses, kept in memory."""

    protocol_version = "HTTP/1.1"
    blobs: dict[str, bytes]
    uploads: dict[str, bytearray]
    manifests: dict[tuple[str, str], tuple[bytes, str]]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, code: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(code)
        headers.setdefault("Content-Length", str(len(body)))
        headers["Docker-Distribution-API-Version"] = "registry/2.0"
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path == "/v2/":
            return self._reply(200, {"Content-Type": "application/json"}, b"{}")
        blob = _BLOB.match(path)
        if blob and blob[2] in self.blobs:
            return self._reply(200, {"Docker-Content-Digest": blob[2]}, self.blobs[blob[2]])
        manifest = _MANIFEST.match(path)
        found = self.manifests.get((manifest[1], manifest[2])) if manifest else None
        if found is not None:
            data, kind = found
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            return self._reply(200, {"Content-Type": kind, "Docker-Content-Digest": digest}, data)
        return self._reply(404, {"Content-Type": "application/json"}, b'{"errors":[]}')

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self._body()
        upload = _UPLOAD.match(self.path.partition("?")[0])
        if not upload:
            return self._reply(404, {})
        key = str(uuid.uuid4())
        self.uploads[key] = bytearray()
        where = f"/v2/{upload[1]}/blobs/uploads/{key}"
        return self._reply(202, {"Location": where, "Range": "0-0", "Docker-Upload-UUID": key})

    def do_PATCH(self) -> None:
        data = self._body()
        upload = _UPLOAD.match(self.path.partition("?")[0])
        if not upload or upload[2] not in self.uploads:
            return self._reply(404, {})
        self.uploads[upload[2]] += data
        size = len(self.uploads[upload[2]])
        where = f"/v2/{upload[1]}/blobs/uploads/{upload[2]}"
        return self._reply(202, {"Location": where, "Range": f"0-{max(size - 1, 0)}"})

    def do_PUT(self) -> None:
        data = self._body()
        path, _, query = self.path.partition("?")
        upload = _UPLOAD.match(path)
        if upload and upload[2] in self.uploads:
            blob = bytes(self.uploads.pop(upload[2]) + data)
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            if f"digest={digest}" not in query.replace("%3A", ":"):
                return self._reply(400, {})
            self.blobs[digest] = blob
            where = f"/v2/{upload[1]}/blobs/{digest}"
            return self._reply(201, {"Location": where, "Docker-Content-Digest": digest})
        manifest = _MANIFEST.match(path)
        if not manifest:
            return self._reply(404, {})
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        kind = self.headers.get("Content-Type", "application/json")
        self.manifests[(manifest[1], manifest[2])] = (data, kind)
        self.manifests[(manifest[1], digest)] = (data, kind)
        where = f"/v2/{manifest[1]}/manifests/{digest}"
        return self._reply(201, {"Location": where, "Docker-Content-Digest": digest})


@contextlib.contextmanager
def registry() -> Iterator[str]:
    """A registry on loopback; yields its ``127.0.0.1:PORT`` host."""
    state: dict[str, Any] = {"blobs": {}, "uploads": {}, "manifests": {}}
    handler = type("Registry", (_Registry,), state)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def push(client: Any, repo: str, tag: str) -> None:
    """`docker push repo:tag`, failing the test with the daemon's error."""
    for chunk in client.push(repo, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            pytest.fail(f"docker push {repo}:{tag}: {chunk['error']}")


def small_capture(root: Path) -> Path:
    """A capture of a locally held wheel and a locally held sdist, rebuilt with --wheelhouse
    (no network needed; the sdist is built into a wheel on the host)."""
    from envsnap.model import ArtifactFile, Package
    from tests.fakes.projects import make_wheel, sha256
    from tests.rebuild.test_context import make_sdist

    here = "{}.{}.{}".format(*sys.version_info[:3])
    wheel = make_wheel(root / "links", "demo", "1.0")
    sdist = make_sdist(root / "links", "sdpkg", "2.0")
    packages = tuple(
        Package(
            name=name,
            version=version,
            source="index",
            index="file:///links",
            files=(ArtifactFile(name=path.name, path=str(path), sha256=sha256(path)),),
        )
        for name, version, path in (("demo", "1.0", wheel), ("sdpkg", "2.0", sdist))
    )
    env = replace(samples.cpu_env(), python=samples.python(here), envvars=(), packages=packages)
    cap = root / "cap"
    pylock.write(cap / "pylock.toml", env)
    return cap


def test_recorded_digest_pins_the_base_after_its_tag_moved(
    cli: CLI, tmp_path: Path, python_slim_image: str, docker_client: Any
) -> None:
    import docker

    from envsnap.engine.docker import run

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
        code, out = run(tag + "b", ["python", "-c", script])
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
