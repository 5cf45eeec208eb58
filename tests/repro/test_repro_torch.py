"""`envsnap repro` on a real torch training job (CPU, torch 2.13.0): reproducible when seeded,
not when its data order comes from a set of strings (--explain finds PYTHONHASHSEED), not
across two environments whose thread counts differ (the cause named and verified), and never
for an unseeded job (said honestly). Checkpoints are read with weights_only=True, by the job's
own interpreter: envsnap's has no torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats import pylock, repro
from tests.fakes import samples
from tests.fakes.venvs import make_venv, site_packages

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "examples" / "repro" / "train.py"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED")


def envsnap(
    *args: str | Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m envsnap ARGS` with the thread and hash variables of the calling shell gone."""
    full = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    full["PYTHONPATH"] = str(ROOT)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *map(str, args)],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=1800,
        check=False,
    )


def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(TRAIN, work / "train.py")
    return work


def capture(tmp_path: Path) -> Path:
    cap = tmp_path / "cap"
    pylock.write(cap / "pylock.toml", samples.cpu_env())
    return cap


def test_a_seeded_training_job_is_reproducible(torch_python: Path, tmp_path: Path) -> None:
    work, cap = workdir(tmp_path), capture(tmp_path)
    done = envsnap(
        "repro", "--capture", cap, "--", torch_python, "train.py", "--steps", "200", cwd=work
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "reproducible: 2 runs, 2 outputs bit-identical"
    rec = repro.load(cap / "repro.toml")
    assert rec.reproducible and {o.path for o in rec.outputs} == {"metrics.json", "model.pt"}
    report = envsnap("report", cap, "-o", "-", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert (
        "- [x] running the code several times yields the same output: "
        "[repro.toml](cap/repro.toml): reproducible: 2 runs, 2 outputs bit-identical"
    ) in report.stdout


def test_explain_fixes_a_set_ordered_training_job_with_pythonhashseed(
    torch_python: Path, tmp_path: Path
) -> None:
    work = workdir(tmp_path)
    done = envsnap(
        "repro",
        "--explain",
        "--no-record",
        "--",
        torch_python,
        "train.py",
        "--order-by-set",
        "--steps",
        "100",
        cwd=work,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("not reproducible: ")
    assert "model.pt 4 of 4 tensors differ (max " in lines[0]
    # tensor by tensor, read from the checkpoint by the job's interpreter (weights_only=True)
    assert any(line.startswith("    0.weight float32 [32, 16]: ") for line in lines)
    assert "fix verified: PYTHONHASHSEED=0 (3 runs identical)" in lines


def second_env(tmp_path: Path, torch_python: Path) -> Path:
    """A venv that runs the same torch with one thread: its startup sets OMP_NUM_THREADS=1
    (as a conda environment's activation can), before the job imports torch."""
    venv = tmp_path / "one-thread"
    python = make_venv(venv)
    (site_packages(python) / "threads.pth").write_text(
        f"{site_packages(torch_python)}\nimport os; os.environ['OMP_NUM_THREADS'] = '1'\n"
    )
    return venv


def test_the_thread_count_between_two_environments_is_named_and_verified(
    torch_python: Path, tmp_path: Path
) -> None:
    work = workdir(tmp_path)
    venv = second_env(tmp_path, torch_python)
    done = envsnap(
        "repro",
        "--venv",
        venv,
        "--explain",
        "--no-record",
        "--json",
        "--",
        torch_python,
        "train.py",
        "--big-reduce",
        "--steps",
        "20",
        cwd=work,
        env={"OMP_NUM_THREADS": "2"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["summary"].startswith(f"venv {venv} does not reproduce this machine's outputs: ")
    assert "torch threads: 2 -> 1" in result["likely-causes"]
    assert "OMP_NUM_THREADS: 2 -> 1" in result["likely-causes"]
    host, other = result["environments"]
    assert host["facts"]["torch.threads"] == "2" and other["facts"]["torch.threads"] == "1"
    explain = result["explain"]
    assert explain["fixed-by"] == ["torch.set_num_threads(2)"]
    assert explain["line"] == (
        f"fix verified: torch.set_num_threads(2) (venv {venv} reproduces this machine's outputs)"
    )
    text = envsnap(
        "repro",
        "--venv",
        venv,
        "--no-record",
        "--",
        torch_python,
        "train.py",
        "--big-reduce",
        "--steps",
        "20",
        cwd=work,
        env={"OMP_NUM_THREADS": "2"},
    )
    assert "likely cause: " in text.stdout and "torch threads: 2 -> 1" in text.stdout


def test_an_unseeded_job_is_not_reproducible_and_nothing_fixes_it(
    torch_python: Path, tmp_path: Path
) -> None:
    work = workdir(tmp_path)
    done = envsnap(
        "repro",
        "--explain",
        "--no-record",
        "--",
        torch_python,
        "train.py",
        "--unseeded",
        "--steps",
        "5",
        cwd=work,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    tried = [line for line in lines if line.startswith("  tried ")]
    assert "  tried torch.set_num_threads(1): still differ: metrics.json, model.pt" in tried
    assert tried[-1].startswith("  tried all together (PYTHONHASHSEED=0 and ")
    assert lines[-1] == (
        f"no candidate setting fixes it ({len(tried)} settings tried); "
        "still differing: metrics.json, model.pt"
    )


CHECKPOINTS = """
import os, torch
class Custom:
    pass
torch.save({"w": torch.randn(4)}, "truncated.pt")
data = open("truncated.pt", "rb").read()
open("truncated.pt", "wb").write(data[: len(data) // 2])
torch.save({"w": torch.randn(4), "obj": Custom()}, "pickled.pt")
"""


def test_unreadable_checkpoints_fall_back_to_bytes_with_a_note(
    torch_python: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "job.py").write_text(CHECKPOINTS)
    done = envsnap("repro", "--no-record", "--json", "--", torch_python, "job.py", cwd=work)
    assert done.returncode == 1, done.stdout + done.stderr
    notes = {o["path"]: o for o in json.loads(done.stdout)["outputs"]}
    for name in ("truncated.pt", "pickled.pt"):
        assert notes[name]["kind"] == "bytes"
        assert notes[name]["note"].startswith(
            "unreadable as a torch checkpoint (torch.load(weights_only=True) refused it: "
        )
    assert "Weights only load failed" in notes["pickled.pt"]["note"]
