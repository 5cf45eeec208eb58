"""Section 6 of the bench: image build time cold and warm, and image size overhead.

Runs only with --docker, when a daemon answers on its socket and the base image is present.
Talks to the Docker Engine API over the unix socket with the standard library alone (no SDK, no
CLI needed): ping, image inspect, image delete.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import refenv
from measure import failure_line, measure
from report import Report, fmt_ms

__all__ = [
    "BASE_IMAGE",
    "DockerInputs",
    "cached_steps",
    "daemon_unavailable",
    "section_docker",
]

BASE_IMAGE = "python:3.11.7-slim-bookworm"
SEC = "6 docker"
COLD_TAG = "envsnap-bench:cold"
WARM_TAG = "envsnap-bench:warm"
MB = 1_000_000


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


def _image_size(name: str) -> int | None:
    status, doc = _api("GET", f"/images/{name}/json")
    return int(doc["Size"]) if status == 200 and isinstance(doc, dict) else None


def _remove(name: str) -> None:
    _api("DELETE", f"/images/{name}?force=1", timeout=120.0)


def _swap_small_package(inputs: DockerInputs, out: Path) -> str | None:
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


def cached_steps(build_output: str) -> tuple[int, int]:
    """Count (cached, all) build steps in rebuild's output: "[k/M] ..." lines, "(cached)" lines."""
    steps = re.findall(r"^\[(\d+)/(\d+)\]", build_output, flags=re.MULTILINE)
    cached = len(re.findall(r"^\s*\(cached\)\s*$", build_output, flags=re.MULTILINE))
    return cached, int(steps[-1][1]) if steps else 0


def _build(
    inputs: DockerInputs, capture: Path, tag: str, extra: list[str]
) -> tuple[float, str, str]:
    # The base is named: this machine has a CUDA toolkit (nvcc) that would pick nvidia/cuda.
    argv = [*inputs.envsnap, "rebuild", str(capture), "-t", tag, "--wheelhouse"]
    argv += ["--build-on-host", "bench-localpkg", "--build-on-host", "bench-gitpkg"]
    argv += ["--base-image", BASE_IMAGE, *extra]
    sample = measure(argv, timeout=3600.0)
    err = "" if sample.returncode == 0 else failure_line(sample)
    return sample.wall_s, err, sample.stdout + sample.stderr


def _reason_to_skip(inputs: DockerInputs) -> str | None:
    reason = daemon_unavailable()
    if reason:
        return reason
    if _image_size(BASE_IMAGE) is None:
        return f"base image {BASE_IMAGE} is not present (build it with the recipe in images/)"
    if not inputs.enabled:
        return "pass --docker to build images (a cold torch image takes several minutes)"
    if inputs.hashed_capture is None:
        return "needs a capture with hashes (the warm-cache capture did not run)"
    return None


def section_docker(report: Report, inputs: DockerInputs) -> None:
    """Build the reference env's image cold, then with one small package changed; size it."""
    reason = _reason_to_skip(inputs)
    if reason or inputs.hashed_capture is None:
        report.skipped(SEC, "image build cold / warm, size", reason or "no capture")
        return
    helptext = subprocess.run(
        [*inputs.envsnap, "rebuild", "--help"], capture_output=True, text=True, check=False
    ).stdout
    no_cache = ["--no-cache"] if "--no-cache" in helptext else []
    for tag in (COLD_TAG, WARM_TAG):
        _remove(tag)
    cold_s, err, cold_log = _build(inputs, inputs.hashed_capture, COLD_TAG, no_cache)
    if err:
        report.unavailable(SEC, "rebuild --wheelhouse (cold)", err)
        return
    how = "--no-cache" if no_cache else "its old image removed first"
    driver = storage_driver()
    report.put("docker", "storage_driver", driver)
    cold_cached, cold_steps = cached_steps(cold_log)
    report.add(
        SEC,
        f"image build cold ({driver} driver, {how}, 1 run)",
        fmt_ms(cold_s),
        result=f"{cold_cached} of {cold_steps} steps cached",
    )
    report.put("docker", "cold_s", cold_s)
    report.put("docker", "cold_cached_steps", cold_cached)
    changed = inputs.work / "cap-changed"
    err = _swap_small_package(inputs, changed) or ""
    if not err:
        warm_s, err, log = _build(inputs, changed, WARM_TAG, [])
    if err:
        report.unavailable(SEC, "rebuild with one package changed", err)
    else:
        name, version, other = refenv.SMALL_PACKAGE
        cached, steps = cached_steps(log)
        report.add(
            SEC,
            f"image build, {name} {version}->{other} ({driver} driver, 1 run)",
            fmt_ms(warm_s),
            target="small fraction of cold",
            result=f"{warm_s / cold_s:.2f}x of cold; {cached} of {steps} steps cached",
        )
        report.put("docker", "warm_cached_steps", cached)
        report.put("docker", "warm_steps", steps)
        report.put("docker", "warm_s", warm_s)
        report.put("docker", "warm_over_cold", round(warm_s / cold_s, 3))
    _report_size(report, inputs.ref)
    # Both images are measured: drop them (on vfs each layer is a full copy, ~30 GB in all).
    for tag in (COLD_TAG, WARM_TAG):
        _remove(tag)


def _report_size(report: Report, ref: Path) -> None:
    image, base = _image_size(COLD_TAG), _image_size(BASE_IMAGE)
    if image is None or base is None:
        report.unavailable(SEC, "image size", "image or base image not found after the build")
        return
    installed = refenv.installed_bytes(ref)
    overhead = image - base - installed
    pct = overhead / (base + installed)
    report.add(
        SEC,
        "image size",
        f"{image / MB:.0f} MB",
        target="base + installed",
        result=f"{base / MB:.0f} + {installed / MB:.0f} MB; "
        f"overhead {overhead / MB:+.0f} MB ({pct:+.1%})",
    )
    report.put("docker", "image_bytes", image)
    report.put("docker", "base_bytes", base)
    report.put("docker", "installed_bytes", installed)
    report.put("docker", "overhead_bytes", overhead)
