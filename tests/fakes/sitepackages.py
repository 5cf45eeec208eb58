"""Test fakes for installed distributions and package indexes, all in real formats.

- `write_dist_info` / `write_egg_info`: real-format metadata folders (PEP 376/566/610/627).
- `make_wheel`: a real, installable wheel (zip with METADATA, WHEEL, RECORD) built in-process.
- `make_project`: a tiny source project whose in-tree PEP 517/660 backend builds wheels and
  editables with no network and no setuptools, so `pip install DIR` / `-e DIR` work offline.
- `SimpleIndex` (fixture `simple_index`): a loopback HTTP server speaking the simple repository
  API, PEP 691 JSON or PEP 503 HTML by the Accept header, that counts the requests it serves.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import ssl
import threading
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

__all__ = [
    "SimpleIndex",
    "make_project",
    "make_wheel",
    "sha256_of",
    "simple_index",
    "write_dist_info",
    "write_egg_info",
]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n\nlong text\n"


def write_dist_info(
    site: Path,
    name: str,
    version: str | None,
    *,
    direct_url: dict[str, Any] | None = None,
    requested: bool = False,
    installer: str | None = "pip",
    tags: Sequence[str] = ("py3-none-any",),
    metadata: str | None = None,
) -> Path:
    """Write ``NAME-VERSION.dist-info`` under *site* the way pip does; None version omits it."""
    folder = site / f"{name.replace('-', '_')}-{version or '0'}.dist-info"
    folder.mkdir(parents=True)
    if metadata is None:
        metadata = _metadata(name, version) if version else f"Metadata-Version: 2.1\nName: {name}\n"
    (folder / "METADATA").write_text(metadata, encoding="utf-8")
    wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
    (folder / "WHEEL").write_text(wheel + "".join(f"Tag: {t}\n" for t in tags), encoding="utf-8")
    if installer:
        (folder / "INSTALLER").write_text(installer + "\n", encoding="utf-8")
    if requested:
        (folder / "REQUESTED").write_text("", encoding="utf-8")
    if direct_url is not None:
        (folder / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
    (folder / "RECORD").write_text(f"{folder.name}/METADATA,,\n", encoding="utf-8")
    return folder


def write_egg_info(site: Path, name: str, version: str) -> Path:
    """Write a setuptools ``NAME-VERSION-pyX.Y.egg-info`` folder with PKG-INFO."""
    folder = site / f"{name.replace('-', '_')}-{version}-py3.11.egg-info"
    folder.mkdir(parents=True)
    (folder / "PKG-INFO").write_text(_metadata(name, version), encoding="utf-8")
    return folder


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def make_wheel(
    out: Path, name: str, version: str, tag: str = "py3-none-any", requires: Sequence[str] = ()
) -> Path:
    """Build a real wheel for a one-module package *name* into *out* and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    dist = canonicalize_name(name).replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    meta = _metadata(name, version).replace(
        "Summary", "".join(f"Requires-Dist: {r}\n" for r in requires) + "Summary"
    )
    files = {
        f"{dist}_mod.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": meta,
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n",  # noqa: E501
    }
    record = "".join(
        f"{p},{_record_hash(d.encode())},{len(d.encode())}\n" for p, d in files.items()
    )
    files[f"{info}/RECORD"] = record + f"{info}/RECORD,,\n"
    path = out / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for arc, text in files.items():
            info_z = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
            zf.writestr(info_z, text)
    return path


BACKEND_SRC = '''\
"""A tiny in-tree PEP 517 / PEP 660 backend: pure-Python packages, no network, no setuptools."""
import base64, hashlib, os, zipfile

NAME, VERSION = open(os.path.join(os.path.dirname(__file__), "NAMEVERSION")).read().split()
DIST = NAME.replace("-", "_")


def _hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _meta():
    return f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n"


def _wheel(outdir, files):
    info = f"{DIST}-{VERSION}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = _meta().encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = "".join(f"{p},{_hash(d)},{len(d)}\\n" for p, d in files.items())
    record += f"{info}/RECORD,,\\n"
    files[f"{info}/RECORD"] = record.encode()
    name = f"{DIST}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(outdir, name), "w") as zf:
        for arc, data in files.items():
            zf.writestr(zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return name


def _sources():
    root = os.path.dirname(os.path.abspath(__file__))
    pkg = os.path.join(root, DIST + "_mod")
    names = sorted(f for f in os.listdir(pkg) if f.endswith(".py"))
    return {f"{DIST}_mod/{f}": open(os.path.join(pkg, f), "rb").read() for f in names}


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, _sources())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    root = os.path.dirname(os.path.abspath(__file__))
    return _wheel(wheel_directory, {f"__editable__.{DIST}.pth": (root + "\\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError
'''


def make_project(root: Path, name: str, version: str) -> Path:
    """Write a source project *name* *version* under *root* with the in-tree backend."""
    root.mkdir(parents=True, exist_ok=True)
    dist = canonicalize_name(name).replace("-", "_")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "tiny_backend"\nbackend-path = ["."]\n',
        encoding="utf-8",
    )
    (root / "tiny_backend.py").write_text(BACKEND_SRC, encoding="utf-8")
    (root / "NAMEVERSION").write_text(f"{name} {version}\n", encoding="utf-8")
    (root / f"{dist}_mod").mkdir(exist_ok=True)
    (root / f"{dist}_mod" / "__init__.py").write_text(f"VERSION = {version!r}\n", encoding="utf-8")
    return root


class SimpleIndex:
    """A loopback simple-repository server over the files of one folder; counts requests."""

    def __init__(
        self, folder: Path, *, html_only: bool = False, tls: ssl.SSLContext | None = None
    ) -> None:
        self.folder = folder
        self.html_only = html_only
        self.requests: list[str] = []
        handler = self._handler()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        scheme = "http"
        if tls is not None:  # HTTPS: the server's certificate and key are in *tls*
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/simple"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _projects(self) -> dict[str, list[Path]]:
        out: dict[str, list[Path]] = {}
        for f in sorted(self.folder.iterdir()):
            if f.name.endswith(".whl"):
                name = parse_wheel_filename(f.name)[0]
            elif f.name.endswith((".tar.gz", ".zip")):
                name = parse_sdist_filename(f.name)[0]
            else:
                continue
            out.setdefault(str(name), []).append(f)
        return out

    def page(self, project: str, accept: str) -> tuple[str, bytes] | None:
        files = self._projects().get(project)
        if files is None:
            return None
        base = self.url.rsplit("/", 1)[0]
        if "vnd.pypi.simple.v1+json" in accept and not self.html_only:
            doc = {
                "meta": {"api-version": "1.1"},
                "name": project,
                "files": [
                    {
                        "filename": f.name,
                        "url": f"{base}/files/{f.name}",
                        "hashes": {"sha256": sha256_of(f)},
                        "size": f.stat().st_size,
                        "upload-time": "2024-05-06T07:08:09.123456Z",
                    }
                    for f in files
                ],
            }
            return "application/vnd.pypi.simple.v1+json", json.dumps(doc).encode()
        links = "".join(
            f'<a href="../../files/{f.name}#sha256={sha256_of(f)}">{f.name}</a>\n' for f in files
        )
        return "text/html", f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append(self.path)
                parts = [p for p in self.path.split("/") if p]
                body: tuple[str, bytes] | None = None
                if len(parts) == 2 and parts[0] == "simple":
                    body = index.page(parts[1], self.headers.get("Accept", ""))
                elif len(parts) == 2 and parts[0] == "files":
                    path = index.folder / parts[1]
                    if path.is_file():
                        body = ("application/octet-stream", path.read_bytes())
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", body[0])
                self.send_header("Content-Length", str(len(body[1])))
                self.end_headers()
                self.wfile.write(body[1])

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def simple_index(tmp_path: Path) -> Iterator[SimpleIndex]:
    """A loopback index serving the files dropped into ``tmp_path / "served"``."""
    folder = tmp_path / "served"
    folder.mkdir()
    index = SimpleIndex(folder)
    yield index
    index.close()
