"""The pieces of repro on their own: scratch copies and tree states, output patterns, the job's
command line, the bootstrap, the candidate settings, the verdict line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.repro import explain, scratch
from envsnap.repro.command import parse
from envsnap.repro.result import OutputComparison, TensorDiff, ValueDiff, verdict

ROOT = Path(__file__).resolve().parents[2]


def test_copy_tree_copies_files_links_and_modes_and_links_environments(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "data" / "a.txt").write_text("a")
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    (src / "link").symlink_to("data/a.txt")
    (src / ".venv").mkdir()
    (src / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    os.mkfifo(src / "pipe")
    copied = scratch.copy_tree(src, tmp_path / "dest")
    dest = tmp_path / "dest"
    assert (dest / "data" / "a.txt").read_text() == "a"
    assert (dest / "data" / "a.txt").stat().st_ino != (src / "data" / "a.txt").stat().st_ino
    assert (dest / "run.sh").stat().st_mode & 0o777 == 0o755
    assert os.readlink(dest / "link") == "data/a.txt"
    assert os.readlink(dest / ".venv") == str(src / ".venv")
    assert not (dest / "pipe").exists()
    assert (copied.files, copied.linked, copied.skipped) == (2, (".venv",), ("pipe",))
    assert (dest / "run.sh").stat().st_mtime_ns == (src / "run.sh").stat().st_mtime_ns


def test_state_and_changes_see_every_write(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "same.txt").write_text("1")
    (root / "touched.txt").write_text("1")
    (root / "gone.txt").write_text("1")
    (root / "__pycache__").mkdir()
    before = scratch.state(root)
    st = (root / "touched.txt").stat()
    with open(root / "touched.txt", "w") as fh:  # same size, mtime set back: ctime still moves
        fh.write("2")
    os.utime(root / "touched.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
    (root / "gone.txt").unlink()
    (root / "new.txt").write_text("n")
    (root / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    (root / "old.pyc").write_bytes(b"x")
    made, gone = scratch.changes(before, scratch.state(root))
    assert (made, gone) == (["new.txt", "touched.txt"], ["gone.txt"])


def test_output_patterns() -> None:
    paths = ["model.pt", "ckpt/a.pt", "ckpt/sub/b.pt", "logs/x.json", "m[1].txt"]
    assert scratch.match("ckpt", paths) == ["ckpt/a.pt", "ckpt/sub/b.pt"]
    assert scratch.match("**/*.pt", paths) == ["model.pt", "ckpt/a.pt", "ckpt/sub/b.pt"]
    assert scratch.match("ckpt/*.pt", paths) == ["ckpt/a.pt"]
    assert scratch.match("ckpt/**", paths) == ["ckpt/a.pt", "ckpt/sub/b.pt"]
    assert scratch.match("m[!0]*", paths) == ["model.pt", "m[1].txt"]
    assert scratch.match("logs/?.json", paths) == ["logs/x.json"]
    assert scratch.check_pattern("./out//model.pt") == "out/model.pt"
    for bad in ("/etc/passwd", "../x", "a/../../b", "", "."):
        with pytest.raises(InputError, match="inside the working directory"):
            scratch.check_pattern(bad)


def test_command_lines() -> None:
    job = parse(["python3", "-u", "-W", "error", "train.py", "--lr", "3"])
    assert (job.python, job.options, job.target) == (
        "python3",
        ("-u", "-W", "error"),
        ("train.py", "--lr", "3"),
    )
    assert parse(["/opt/venv/bin/python", "-m", "pkg.train", "x"]).target == (
        "-m",
        "pkg.train",
        "x",
    )
    assert parse(["python3.11", "-c", "print(1)"]).target == ("-c", "print(1)")
    assert not parse(["bash", "train.sh"]).is_python
    assert not parse(["python", "--some-future-option", "x.py"]).is_python  # run as written
    assert not parse(["python"]).is_python
    with pytest.raises(InputError, match="no command to run"):
        parse([])
    boot = parse(["python", "-u", "t.py", "a"]).booted({"torch_threads": "1"}, None)
    assert boot == (
        "python",
        "-u",
        "-m",
        "envsnap.repro.boot",
        '{"torch_threads": "1"}',
        "--",
        "t.py",
        "a",
    )
    work = Path("/home/me/proj")
    assert parse(["../venv/bin/python", "t.py"]).located(work).argv[0] == "/home/me/venv/bin/python"
    assert parse(["./run.sh"]).located(work).argv[0] == "./run.sh"  # the copy's own


BOOTED = """
import sys
print(__name__, sys.argv, sys.path[0])
"""


@pytest.mark.parametrize("installed", [True, False])
def test_the_bootstrap_runs_the_job_as_main(tmp_path: Path, installed: bool) -> None:
    """As ``-m envsnap.repro.boot`` (envsnap installed) and as ``-c`` text (it is not); without
    torch, a torch switch is skipped with a note and the job still runs."""
    from envsnap.numerics.runner import script_source

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "job.py").write_text(BOOTED)
    job = parse([sys.executable, "sub/job.py", "--x", "1"])
    source = None if installed else script_source(ROOT / "envsnap" / "repro" / "boot.py")
    argv = job.booted({"torch_threads": "1"}, source)
    env = {**os.environ, "PYTHONPATH": str(ROOT)} if installed else {"PATH": os.environ["PATH"]}
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"__main__ ['sub/job.py', '--x', '1'] {tmp_path / 'sub'}\n"
    assert "torch is not installed: its switches were not applied" in done.stderr
    module = subprocess.run(
        parse([sys.executable, "-m", "json.tool", "--help"]).booted({}, source),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert module.returncode == 0 and "usage:" in module.stdout
    code = subprocess.run(
        parse([sys.executable, "-c", "import sys; print(__name__, sys.argv)", "z"]).booted(
            {}, source
        ),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert code.stdout == "__main__ ['-c', 'z']\n"


@pytest.mark.slow
def test_the_bootstrap_sets_torch_switches(torch_python: Path, tmp_path: Path) -> None:
    from envsnap.numerics.runner import script_source

    (tmp_path / "job.py").write_text(
        "import torch\n"
        "print(torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())\n"
    )
    source = script_source(ROOT / "envsnap" / "repro" / "boot.py")
    argv = parse([str(torch_python), "job.py"]).booted(
        {"torch_threads": "1", "deterministic": True}, source
    )
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1 True\n"


def test_candidates_follow_the_knowledge_and_the_machine() -> None:
    cands, skipped = explain.candidates(python=True, gpu=False, installed={"torch": "2.13.0"})
    labels = [c.label for c in cands]
    assert labels == [
        "PYTHONHASHSEED=0",
        "OMP_NUM_THREADS=1, MKL_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1",
        "torch.set_num_threads(1)",
        "torch.use_deterministic_algorithms(True), CUBLAS_WORKSPACE_CONFIG=:4096:8",
    ]
    assert skipped == [
        "TF32 off (allow_tf32 = False) (no GPU here)",
        "NVIDIA_TF32_OVERRIDE=0 (no GPU here)",
    ]
    gpu, _ = explain.candidates(
        python=True,
        gpu=True,
        installed={"torch": "2.13.0", "tensorflow": "2.15.0", "jax": "0.4.30"},
    )
    labels = [c.label for c in gpu]
    assert "TF32 off (allow_tf32 = False)" in labels and "NVIDIA_TF32_OVERRIDE=0" in labels
    assert "tf.config.experimental.enable_op_determinism()" in labels
    assert "XLA_FLAGS=--xla_gpu_deterministic_ops=true" in labels
    assert "CUBLAS_WORKSPACE_CONFIG=:4096:8" in labels
    old_tf, _ = explain.candidates(python=True, gpu=False, installed={"tensorflow": "2.5.0"})
    assert "TF_DETERMINISTIC_OPS=1" in [c.label for c in old_tf]
    shell, skipped = explain.candidates(python=False, gpu=False, installed={})
    assert [c.label for c in shell] == [
        "PYTHONHASHSEED=0",
        "OMP_NUM_THREADS=1, MKL_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1",
        "TF_DETERMINISTIC_OPS=1",
    ]


def test_frameworks_are_read_from_metadata_without_importing(tmp_path: Path) -> None:
    assert explain.frameworks(sys.executable) == {}
    assert explain.frameworks(str(tmp_path / "no-python")) == {}


def test_the_verdict_line() -> None:
    same = OutputComparison(
        "m.safetensors",
        "safetensors",
        True,
        ("a", "a"),
        tuple(TensorDiff(f"t{i}", "float32", (2,), True) for i in range(14)),
    )
    assert verdict((same,), 2) == "reproducible: 2 runs, 1 output, 14 tensors bit-identical"
    bad = OutputComparison(
        "model.safetensors",
        "safetensors",
        False,
        tensors=(
            *(TensorDiff(f"t{i}", "float32", (2,), False, 2, max_ulps=i) for i in range(12)),
            TensorDiff("u", "float32", (2,), True),
            TensorDiff("v", "float32", (2,), True),
        ),
    )
    metrics = OutputComparison(
        "metrics.json", "json", False, values=(ValueDiff("loss", "0.1", "0.1000003", 3e-7),)
    )
    assert verdict((bad, metrics), 2) == (
        "not reproducible: model.safetensors 12 of 14 tensors differ (max 11 ulps); "
        "metrics.json loss differs by 3e-07"
    )
    assert verdict((same,), 2, across="image x:1") == (
        "image x:1 reproduces this machine's outputs bit for bit (1 output, 14 tensors)"
    )
    assert json.loads(json.dumps(bad.to_dict()))["tensors"][0]["max-ulps"] == 0
    loose = OutputComparison("metrics.json", "json", True, ("a", "b"))
    assert verdict((same, loose), 2) == (
        "reproducible: 2 runs, 2 outputs, 14 tensors identical (metrics.json equal in value, "
        "not in bytes)"
    )


def test_the_cli_and_repro_load_no_heavy_module() -> None:
    """`import envsnap.cli` (and the repro verb's module and package) import no framework or
    format library: each is imported inside the comparison of a file that needs it."""
    from tests.fakes.imports import loaded

    heavy = ("torch", "numpy", "safetensors", "yaml", "docker", "tensorflow", "jax")
    code = "import envsnap.cli, envsnap.commands.repro, envsnap.repro, envsnap.repro.compare"
    assert loaded(code, heavy) == []
