"""A loopback registry (Docker registry API v2, enough for a push) and a small capture to build."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from envsnap.formats import pylock
from envsnap.model import replace
from tests.fakes import samples

_BLOB = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
_UPLOAD = re.compile(r"^/v2/(.+)/blobs/uploads/([0-9a-f-]*)$")
_MANIFEST = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")


class RegistryHandler(http.server.BaseHTTPRequestHandler):
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
def serve(handler: type[RegistryHandler] = RegistryHandler) -> Iterator[tuple[str, type[Any]]]:
    """A registry on loopback with empty state: yields (its ``127.0.0.1:PORT``, the handler
    class whose ``blobs``/``manifests`` dicts hold what it serves)."""
    state: dict[str, Any] = {"blobs": {}, "uploads": {}, "manifests": {}}
    served = type("Registry", (handler,), state)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class TokenRegistry(RegistryHandler):
    """The registry behind the Docker token flow: 401 with a Bearer challenge whose realm is
    its own ``/token``, which hands out an anonymous pull token."""

    TOKEN = "anonymous-pull-token"

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.path.startswith("/token?") or self.headers.get("Authorization") == (
            f"Bearer {self.TOKEN}"
        ):
            return True
        host = f"http://{self.headers.get('Host')}"
        self.send_response(401)
        self.send_header(
            "WWW-Authenticate",
            f'Bearer realm="{host}/token",service="fake",scope="repository:team/train:pull"',
        )
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/token" and "scope=repository%3Ateam%2Ftrain%3Apull" in query.split("&"):
            body = json.dumps({"token": self.TOKEN}).encode()
            return self._reply(200, {"Content-Type": "application/json"}, body)
        return super().do_GET()


def small_capture(root: Path) -> Path:
    """A capture of a locally held wheel and a locally held sdist (no network needed: both are
    copied into the context, and the sdist is built in the image build)."""
    from envsnap.model import ArtifactFile, Package
    from tests.fakes.projects import make_sdist, make_wheel, sha256

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
