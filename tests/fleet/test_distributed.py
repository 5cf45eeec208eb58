"""`envsnap.require(DIR, distributed=True)` under a real torchrun (CPU, 3 ranks), each rank's
machine set by a wrapper before its process starts (the NVML stand-in, per RANK)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fakes.clustervenv import capture_with
from tests.fakes.scenario import machine, make_toolkit

pytestmark = pytest.mark.slow  # a venv with torch, torchrun with three ranks

WRAPPER = """#!/bin/sh
# one rank sees another machine: set before its Python starts, as NVML is read at start
if [ "$RANK" = "$ODD_RANK" ]; then export FAKE_NVML_DRIVER="$ODD_DRIVER"; fi
exec "$RANK_PYTHON" "$@"
"""

SCRIPT = """
import os, sys

def say(text):  # one write(2) per line: three ranks share the pipe, a line stays whole
    os.write(1, (text + "\\n").encode())

if os.environ["RANK"] == os.environ.get("SKIP_RANK"):
    say(f"rank {os.environ['RANK']} skipped require")
    sys.exit(0)
import envsnap
import torch.distributed as dist
if os.environ.get("INIT_FIRST"):
    dist.init_process_group("gloo")  # the job's own group, before the check
try:
    envsnap.require(sys.argv[1], distributed=True, timeout=float(sys.argv[2]))
except envsnap.errors.CheckFailed as exc:
    say(f"rank {os.environ['RANK']} raised: {exc}")
    sys.exit(0)
say(f"rank {os.environ['RANK']} returned; initialized={dist.is_initialized()}")
import torch
if not dist.is_initialized():
    dist.init_process_group("gloo")
t = torch.ones(1)
dist.all_reduce(t)  # the job's group still works after the check
say(f"rank {os.environ['RANK']} all_reduce={int(t.item())}")
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any, cluster_python: Path) -> Any:
    """Run a 3-rank torchrun of SCRIPT against a capture of the torch venv on 8x A100."""
    root = tmp_path_factory.mktemp("torchrun")
    env = {**os.environ, **machine(fake_nvml, make_toolkit(root / "cuda"), driver="580.65.06")}
    env.update(
        {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "RANK_PYTHON": str(cluster_python)}
    )
    env.pop("PYTHONHASHSEED", None)
    env["PYTHONHASHSEED"] = "0"  # scenario.DETERMINISM: as recorded
    capture = capture_with(cluster_python, env, root / "capture")
    (root / "wrap.sh").write_text(WRAPPER)
    (root / "wrap.sh").chmod(0o755)
    (root / "train.py").write_text(SCRIPT)

    def run(timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
        argv = [
            str(cluster_python),
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "3",
            "--no-python",
            str(root / "wrap.sh"),
            str(root / "train.py"),
            str(capture),
            str(timeout),
        ]
        return subprocess.run(
            argv, env={**env, **extra}, capture_output=True, text=True, check=False, timeout=300
        )

    return SimpleNamespace(run=run, env=env, capture=capture, script=root / "train.py")


def _tail(err: str) -> str:
    """torchrun's stderr without its warnings and rank 0's table: what a failure needs."""
    return "\n".join(ln for ln in err.splitlines() if not ln.startswith(("W", "[W")))[-3000:]


def _ranks(out: str, word: str) -> list[str]:
    return sorted(line.split()[1] for line in out.splitlines() if line.split()[2:3] == [word])


def test_alike_ranks_all_return_and_the_job_group_is_untouched(job: Any) -> None:
    result = job.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ranks(result.stdout, "returned;") == ["0", "1", "2"]
    assert result.stdout.count("returned; initialized=False") == 3
    assert result.stdout.count("all_reduce=3") == 3
    assert "fleet ok: 3 of 3 node(s) reported" in result.stderr  # rank 0's table
    assert result.stderr.count("NODE ") == 1


def test_one_rank_on_another_driver_fails_every_rank(job: Any) -> None:
    result = job.run(ODD_RANK="2", ODD_DRIVER="590.44.01", INIT_FIRST="1")
    odd = f"{socket.gethostname()}-rank2"
    raised = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if " raised: " in line]
    assert _ranks(result.stdout, "raised:") == ["0", "1", "2"], result.stdout + _tail(result.stderr)
    message = result.stdout.split("rank 0 raised: ", 1)[1].split("\nrank ")[0]
    assert f"2 nodes have driver 580.65.06, {odd} has 590.44.01" in message
    assert all(r.startswith("envsnap fleet check failed on 3 rank(s):") for r in raised)
    # every rank raises the same error
    for rank in ("1", "2"):
        assert result.stdout.split(f"rank {rank} raised: ", 1)[1].startswith(message)
    assert "fleet.driver" in result.stderr and odd in result.stderr  # rank 0's table


def test_a_rank_that_never_calls_require_times_out_the_others(job: Any) -> None:
    result = job.run(timeout=5, SKIP_RANK="1")
    assert "rank 1 skipped require" in result.stdout
    lines = [line for line in result.stdout.splitlines() if " raised: " in line]
    assert sorted(line.split()[1] for line in lines) == ["0", "2"], result.stdout + result.stderr
    for line in lines:
        assert line.endswith(
            "raised: envsnap fleet check: rank(s) 1 of 3 did not report within 5 s"
        )


def test_without_torchrun_rank_0_hosts_the_store_and_init_reuses_it(
    job: Any, cluster_python: Path
) -> None:
    """Ranks started with the env:// variables only (no agent store): require, then the job's
    own init_process_group on the same MASTER_PORT, which reuses rank 0's store."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in job.env.items() if not k.startswith("TORCHELASTIC")}
    env.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "WORLD_SIZE": "2",
            "LOCAL_WORLD_SIZE": "2",
        }
    )
    procs = [
        subprocess.Popen(
            [str(cluster_python), str(job.script), str(job.capture), "60"],
            env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in (0, 1)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    out = "".join(o for o, _ in outs)
    assert out.count("returned; initialized=False") == 2, out + "".join(e for _, e in outs)
    assert out.count("all_reduce=2") == 2


def test_when_rank_0_never_calls_require_the_others_say_so(job: Any) -> None:
    result = job.run(timeout=5, SKIP_RANK="0")
    lines = [line for line in result.stdout.splitlines() if " raised: " in line]
    assert sorted(line.split()[1] for line in lines) == ["1", "2"], result.stdout + result.stderr
    for line in lines:
        assert line.endswith("raised: envsnap fleet check: rank 0 published no verdict within 10 s")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT must be set"),
        ({"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"},
         "needs torch (torch.distributed)"),
        ({"RANK": "2", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"},
         "RANK 2 outside WORLD_SIZE 2"),
    ],
)  # fmt: skip
def test_misuse_is_one_input_error(env: dict[str, str], message: str, tmp_path: Path) -> None:
    """In this interpreter, which has no torch: the variables are checked, then torch."""
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed in this interpreter")
    code = (
        "import envsnap, envsnap.errors\n"
        "try:\n"
        f"    envsnap.require({str(tmp_path)!r}, distributed=True)\n"
        "except envsnap.errors.InputError as exc:\n"
        "    print(exc.message)\n"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert message in done.stdout, done.stdout + done.stderr
