"""Captures and helpers for the experiment-tracker tests (MLflow, W&B, Aim).

- `two_captures`: capture A (2 x A100, filelock 3.16.1, clean tree) and capture B (2 x H100,
  filelock 3.16.2, dirty tree), both real captures written by envsnap's writer, with the same
  numerics.toml and determinism settings: they differ in one package and in the GPU model.
- `expected_facts`: what every tracker must show of A or B, written out by hand (not computed
  by the view under test).
- `tracker_env`: a hermetic environment for a tracker library: HOME and the libraries' own
  folders in tmp, no key, no server setting from the calling shell.
- `wandb_records`: the records of a run's ``.wandb`` transaction log, decoded with wandb's own
  protobuf ``Record`` (wandb has no Python reader of the log since its core moved to Go; the
  log is LevelDB's log format: 32 KiB blocks of checksummed chunks after a 7-byte header).
- `run_script`: a user's script (Python source) run in a fresh interpreter that imports this
  envsnap, in the current (hermetic) environment; its output must end with a line.
- `EchoServer` (fixture `echo_server`): a loopback HTTP server that answers every request with
  401 and echoes the request's path and Authorization header, as a careless server would.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import envsnap
from envsnap.formats.capture import write
from envsnap.formats.project import ProjectState
from envsnap.model import Snapshot, replace
from tests.fakes import snapshots
from tests.fakes.publish import NUMERICS, gpu_snapshot

__all__ = [
    "COMMITS",
    "FILES",
    "EchoServer",
    "echo_server",
    "expected_facts",
    "run_script",
    "tracker_env",
    "two_captures",
    "wandb_records",
]

FILES = ["pylock.toml", "requirements.txt", "hardware.toml", "project.toml", "numerics.toml"]
COMMITS = {"a": "0123456789abcdef0123456789abcdef01234567", "b": "89abcdef" * 5}
H100 = {"name": "NVIDIA H100 80GB HBM3", "cc": "9.0", "architecture": "Hopper"}
VERSIONS = {"a": "3.16.1", "b": "3.16.2"}  # filelock, the one package that differs


def two_captures(root: Path) -> dict[str, Path]:
    """Captures ``a`` and ``b`` under *root* (see the module docstring)."""
    base = gpu_snapshot()
    out = {}
    for side in ("a", "b"):
        env = base.environment
        packages = tuple(
            replace(p, version=VERSIONS[side]) if p.name == "filelock" else p for p in env.packages
        )
        hw = base.hardware
        assert hw is not None
        if side == "b":
            hw = replace(hw, gpus=snapshots.gpus(2, **H100))
        snap = Snapshot(environment=replace(env, packages=packages), hardware=hw)
        project = ProjectState(
            status="ok",
            vcs="git",
            commit=COMMITS[side],
            branch="main",
            dirty=side == "b",
            changed_files=1 if side == "b" else 0,
        )
        folder = root / side
        write(snap, folder, project=project)
        (folder / "numerics.toml").write_text(NUMERICS, encoding="utf-8")
        out[side] = folder
    return out


def expected_facts(capture: Path, side: str) -> dict[str, Any]:
    """Every fact the view of capture *side* holds, with its type, as a tracker must show it."""
    lock = hashlib.sha256((capture / "pylock.toml").read_bytes()).hexdigest()
    # numerics.toml's digest, by its contract: one "id sha256" line per probe, sorted by id.
    probes = f"conv2d-fp16 {'a' * 64}\nmatmul-fp32 {'b' * 64}\n"
    return {
        "version": envsnap.__version__,
        "python": "3.11.7",
        "os": "Debian GNU/Linux 12 (bookworm)",
        "packages": 6,
        "lock_digest": f"sha256:{lock}",
        "gpu": "NVIDIA A100-SXM4-80GB" if side == "a" else "NVIDIA H100 80GB HBM3",
        "gpu_count": 2,
        "driver": "535.104.05",
        "cuda_driver": "12.2",
        "cuda": "12.8",
        "frameworks": "torch 2.8.0 (CUDA 12.8)",
        "commit": COMMITS[side],
        "dirty": side == "b",
        "determinism": "CUBLAS_WORKSPACE_CONFIG=:4096:8 PYTHONHASHSEED=0",
        "determinism_missing": "none",
        "numerics_digest": "sha256:" + hashlib.sha256(probes.encode()).hexdigest(),
    }


def expected_packages(side: str) -> dict[str, str]:
    return {
        "filelock": VERSIONS[side],
        "numpy": "2.1.3",
        "nvidia-cublas-cu12": "12.8.4.1",
        "nvidia-cudnn-cu12": "9.10.2.21",
        "torch": "2.8.0",
        "triton": "3.4.0",
    }


# Settings of the calling shell that would point a tracker library elsewhere.
_TRACKER_VARIABLES = ("WANDB_", "MLFLOW_", "AIM_", "NETRC", "DATABRICKS_")


def tracker_env(tmp: Path, monkeypatch: pytest.MonkeyPatch, **extra: str) -> dict[str, str]:
    """Set a hermetic environment for the tracker libraries in this process (and so in the
    subprocesses the `cli` fixture starts) and return what was set."""
    for name in list(os.environ):
        if name.startswith(_TRACKER_VARIABLES):
            monkeypatch.delenv(name)
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),  # no ~/.netrc, ~/.config/wandb, ~/.aim
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "WANDB_DIR": str(tmp / "wandb-dir"),
        "WANDB_CACHE_DIR": str(tmp / "wandb-cache"),
        "WANDB_CONFIG_DIR": str(tmp / "wandb-config"),
        "WANDB_DATA_DIR": str(tmp / "wandb-data"),
        "WANDB_ARTIFACT_DIR": str(tmp / "wandb-artifacts"),
        **extra,
    }
    Path(env["WANDB_DIR"]).mkdir(exist_ok=True)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


_BLOCK = 32 * 1024
_HEADER = 7  # the file's header (":W&B", magic, version), then each chunk's (crc, length, type)
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def wandb_records(log: Path) -> list[Any]:
    """Every record of the ``.wandb`` transaction log at *log*, as wandb's protobuf Records."""
    from wandb.proto import wandb_internal_pb2

    data = log.read_bytes()
    assert data[:4] == b":W&B", f"{log}: not a W&B transaction log"
    pos, pending, chunks = _HEADER, b"", []
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # the block's tail is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind == _FULL:
            chunks.append(chunk)
        elif kind == _FIRST:
            pending = chunk
        elif kind == _MIDDLE:
            pending += chunk
        elif kind == _LAST:
            chunks.append(pending + chunk)
    records = []
    for raw in chunks:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        records.append(record)
    return records


def wandb_run(folder: Path) -> dict[str, Any]:
    """What the offline run in *folder* holds, from its transaction log: ``config`` and
    ``summary`` (key -> value, the last update winning), ``artifacts`` (type, name, metadata,
    file names) and ``files`` (the run files saved)."""
    (log,) = folder.glob("run-*.wandb")
    out: dict[str, Any] = {"config": {}, "summary": {}, "artifacts": [], "files": []}
    for record in wandb_records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            items = record.run.config.update
            out["config"].update({i.key: json.loads(i.value_json) for i in items})
        elif kind in ("config", "summary"):
            items = getattr(record, kind).update
            out[kind].update({i.key: json.loads(i.value_json) for i in items if i.key})
        elif kind == "artifact":
            art = record.artifact
            out["artifacts"].append(
                {
                    "type": art.type,
                    "name": art.name,
                    "metadata": json.loads(art.metadata),
                    "files": sorted(c.path for c in art.manifest.contents),
                }
            )
        elif kind == "files":
            out["files"] += [f.path for f in record.files.files]
    return out


def run_script(source: str, cwd: Path) -> str:
    """Run the Python *source* (dedented) in a new interpreter; return its last output line."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


class EchoServer:
    """A loopback HTTP server that answers 401 to everything and echoes the request's path and
    Authorization header in its JSON body (what a careless server's error text could hold)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                auth = self.headers.get("Authorization") or ""
                seen.append(f"{self.command} {self.path} {auth}")
                text = f"denied {auth} for {self.path}"
                body = json.dumps({"error_code": "UNAUTHENTICATED", "message": text}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()
