"""Real artifacts for the context tests: wheels, in-tree-backend projects, git repos, HTTP."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A PEP 517 backend that needs nothing from an index: pip builds the project offline.
BACKEND = """
import base64, hashlib, pathlib, zipfile

NAME, VERSION = pathlib.Path("VERSION").read_text().split()

def _rec(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return build_wheel(wheel_directory, editable=True)

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None, editable=False):
    info = f"{NAME}-{VERSION}.dist-info"
    code = f"VERSION = {VERSION!r}\\ndef main():\\n    print({NAME!r}, VERSION)\\n"
    module = (f"{NAME}.pth", (str(pathlib.Path.cwd()) + "\\n").encode()) if editable else (
        f"{NAME}.py", code.encode())
    files = {
        module[0]: module[1],
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n".encode()
        ),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\n"
            b"Tag: py3-none-any\\n"
        ),
    }
    if pathlib.Path("ENTRY_POINTS").exists():  # console scripts, when the project has some
        files[f"{info}/entry_points.txt"] = pathlib.Path("ENTRY_POINTS").read_bytes()
    record = "".join(f"{n},{_rec(d)},{len(d)}\\n" for n, d in files.items()) + f"{info}/RECORD,,\\n"
    files[f"{info}/RECORD"] = record.encode()
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / name, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return name
"""

PYPROJECT = """[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""


def make_project(root: Path, name: str, version: str) -> Path:
    """A buildable project at *root* (pip builds it without any index)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "backend.py").write_text(BACKEND, encoding="utf-8")
    (root / "VERSION").write_text(f"{name} {version}\n", encoding="utf-8")
    return root


def make_wheel(folder: Path, name: str, version: str, *, script: str | None = None) -> Path:
    """A real, installable pure-Python wheel; returns its path. *script* names a console
    script (``NAME = MODULE:FUNCTION``) that installers write a launcher for."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": f"VERSION = {version!r}\n\ndef main():\n    print(VERSION)\n".encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    if script:
        files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{script}\n".encode()
    rec = [
        f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},"
        f"{len(d)}"
        for n, d in files.items()
    ]
    files[f"{info}/RECORD"] = ("\n".join([*rec, f"{info}/RECORD,,"]) + "\n").encode()
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return path


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git(repo: Path, *args: str) -> str:
    """Run git in *repo* with a fixed identity; return stdout."""
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve *folder* over HTTP on loopback; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def make_sdist(folder: Path, name: str, version: str, *, evil: bool = False) -> Path:
    """A real sdist (tar.gz) of a project with an in-tree backend: pip builds it offline."""
    import tarfile

    src = make_project(folder / "src" / f"{name}-{version}", name, version)
    (src / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    path = folder / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        tf.add(src, arcname=f"{name}-{version}")
        if evil:
            tf.add(src / "VERSION", arcname="../escaped")
    return path
