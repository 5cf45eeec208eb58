"""The Docker daemon for the bench's rebuild section (sections_rebuild.py): is it there, what
driver, image sizes and histories, removing images, a capture with one small package changed.

Talks to the Docker Engine API over the unix socket with the standard library alone (no SDK, no
CLI needed): ping, info, image inspect, image history, image delete.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import refenv
from measure import failure_line, measure

__all__ = [
    "BASE_IMAGE",
    "DockerInputs",
    "daemon_unavailable",
    "history",
    "image_size",
    "lock",
    "reason_to_skip",
    "remove",
    "storage_driver",
    "swap_small_package",
]

BASE_IMAGE = "python:3.11.7-slim-bookworm"


@dataclass(frozen=True)
class DockerInputs:
    """What the Docker section needs from the rest of the bench."""

    envsnap: list[str]
    capture_env: dict[str, str]  # points envsnap at the warm hash cache
    hashed_capture: Path | None
    ref: Path
    work: Path
    enabled: bool


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def socket_path() -> str:
    """The daemon's unix socket: from DOCKER_HOST when it names one, else the default."""
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://") :] if host.startswith("unix://") else "/var/run/docker.sock"


def _api(method: str, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    conn = _UnixConnection(socket_path(), timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(body) if body else None
    except ValueError:
        return resp.status, body.decode(errors="replace")


def daemon_unavailable() -> str | None:
    """Return why no Docker daemon can be used (None when one answers)."""
    path = socket_path()
    if not Path(path).exists():
        return f"no Docker daemon: {path} does not exist"
    try:
        status, _ = _api("GET", "/_ping", timeout=3.0)
    except OSError as exc:
        return f"no Docker daemon answers on {path} ({exc})"
    return None if status == 200 else f"Docker daemon on {path} answered {status}"


def storage_driver() -> str:
    """The daemon's storage driver (vfs copies the whole file system at every step)."""
    status, doc = _api("GET", "/info")
    return str(doc.get("Driver", "?")) if status == 200 and isinstance(doc, dict) else "?"


def image_size(name: str) -> int | None:
    """Image *name*'s size in bytes, None when the daemon has no such image."""
    status, doc = _api("GET", f"/images/{name}/json")
    return int(doc["Size"]) if status == 200 and isinstance(doc, dict) else None


def remove(name: str) -> None:
    """Delete image *name* (its untagged parents too); nothing when there is none."""
    _api("DELETE", f"/images/{name}?force=1", timeout=300.0)


def history(name: str) -> list[dict[str, Any]]:
    """Image *name*'s history, oldest step first (Id, CreatedBy, Size); [] when not found."""
    status, doc = _api("GET", f"/images/{name}/history")
    return list(reversed(doc)) if status == 200 and isinstance(doc, list) else []


def swap_small_package(inputs: DockerInputs, out: Path) -> str | None:
    """Capture the reference env with the small package at another version; then restore it."""
    name, version, other = refenv.SMALL_PACKAGE
    pip = [str(refenv.bin_python(inputs.ref)), "-m", "pip", "install", "-q", "--no-deps"]
    try:
        subprocess.run([*pip, f"{name}=={other}"], check=True, capture_output=True)
        sample = measure(
            [
                *inputs.envsnap,
                "capture",
                "--python",
                str(refenv.bin_python(inputs.ref)),
                "-o",
                str(out),
            ],
            env=inputs.capture_env,
        )
        return None if sample.returncode == 0 else failure_line(sample)
    finally:
        subprocess.run([*pip, f"{name}=={version}"], check=True, capture_output=True)


def reason_to_skip(inputs: DockerInputs) -> str | None:
    """Why the rebuild section cannot run here (None when it can)."""
    reason = daemon_unavailable()
    if reason:
        return reason
    if image_size(BASE_IMAGE) is None:
        return f"base image {BASE_IMAGE} is not present (build it with the recipe in images/)"
    if not inputs.enabled:
        return "pass --docker to build images (a cold torch image takes several minutes)"
    if inputs.hashed_capture is None:
        return "needs a capture with hashes (the warm-cache capture did not run)"
    return None


@contextlib.contextmanager
def lock() -> Iterator[None]:
    """Hold the file lock named by BENCH_DOCKER_LOCK (when set) for one build: a daemon shared
    by several people builds one thing at a time, and no build is timed while another runs."""
    path = os.environ.get("BENCH_DOCKER_LOCK")
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
