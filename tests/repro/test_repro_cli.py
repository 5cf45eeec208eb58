"""`envsnap repro` end to end with real jobs (small Python scripts) in real scratch copies: the
verdict, the record, --explain, bad input, progress, and the user's tree left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from envsnap.formats import pylock, repro
from tests.fakes import samples
from tests.fakes.tty import run_on_tty

CLI = Callable[..., subprocess.CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

# Writes a weights .npy (float32, from a fixed seed) and metrics.json under out/.
SEEDED = """
import json, os, random, struct
random.seed(1)
w = [random.gauss(0, 1) for _ in range(64)]
os.makedirs("out", exist_ok=True)
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8), }".ljust(117) + "\\n"
with open("out/weights.npy", "wb") as fh:
    fh.write(b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(header)) + header.encode())
    fh.write(struct.pack("<64f", *w))
with open("out/metrics.json", "w") as fh:
    json.dump({"loss": sum(w) / len(w)}, fh)
"""
# The order of a set of strings decides the data order: it changes with the hash seed.
BY_SET = """
import json
names = list({f"shard-{i}" for i in range(12)})
total = 0.0
for i, name in enumerate(names):
    total = total * 0.5 + len(name) * (i + 1) / 3.0
json.dump({"order": names, "loss": total}, open("metrics.json", "w"))
"""
RANDOM = """
import os, struct
open("noise.bin", "wb").write(os.urandom(32))
"""


def job(root: Path, text: str, name: str = "job.py") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(textwrap.dedent(text))
    return root


def capture(root: Path) -> Path:
    cap = root / "cap"
    pylock.write(cap / "pylock.toml", samples.cpu_env())
    return cap


def test_a_reproducible_job_is_said_so_and_recorded(cli: CLI, tmp_path: Path) -> None:
    work = job(tmp_path / "work", SEEDED)
    cap = capture(tmp_path)
    done = cli("repro", "--capture", str(cap), "--", PY, "job.py", cwd=work)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "reproducible: 2 runs, 2 outputs, 1 tensor bit-identical\n"
        f"recorded in {cap / 'repro.toml'}\n"
    )
    assert sorted(p.name for p in work.iterdir()) == ["job.py"]  # the runs wrote elsewhere
    rec = repro.load(cap / "repro.toml")
    assert rec.reproducible and rec.runs == 2 and rec.command == (PY, "job.py")
    assert [(o.path, o.kind, o.identical) for o in rec.outputs] == [
        ("out/metrics.json", "json", True),
        ("out/weights.npy", "npy", True),
    ]
    assert all(len(set(o.sha256)) == 1 and len(o.sha256) == 2 for o in rec.outputs)
    assert rec.lock_digest.startswith("sha256:") and rec.environments == (("this machine", "host"),)
    # progress is a plain line per run when stderr is not a terminal
    assert done.stderr.count("envsnap: run ") == 2 and "\r" not in done.stderr


def test_the_users_files_are_never_written_by_a_job_that_rewrites_them(
    cli: CLI, tmp_path: Path
) -> None:
    work = job(
        tmp_path / "work",
        """
        with open("state.bin", "r+b") as fh:   # in place, as an optimiser state update does
            fh.write(b"RUN!")
        with open("config.txt", "w") as fh:    # truncate and rewrite
            fh.write("lr = 2\\n")
        """,
    )
    (work / "state.bin").write_bytes(b"user data")
    (work / "config.txt").write_text("lr = 1\n")
    before = {p.name: (p.read_bytes(), p.stat().st_ino, p.stat().st_nlink) for p in work.iterdir()}
    done = cli("repro", "--no-record", "--json", "--", PY, "job.py", cwd=work)
    assert done.returncode == 0, done.stderr
    after = {p.name: (p.read_bytes(), p.stat().st_ino, p.stat().st_nlink) for p in work.iterdir()}
    assert after == before and before["state.bin"][2] == 1  # not a byte, not a link
    envelope = json.loads(done.stdout)
    assert [o["path"] for o in envelope["outputs"]] == ["config.txt", "state.bin"]


def test_explain_finds_and_verifies_pythonhashseed(cli: CLI, tmp_path: Path) -> None:
    work = job(tmp_path / "work", BY_SET)
    cap = capture(tmp_path)
    done = cli("repro", "--explain", "--capture", str(cap), "--", PY, "job.py", cwd=work)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("not reproducible: metrics.json ")
    assert "  tried PYTHONHASHSEED=0: 3 runs agree" in lines
    assert "fix verified: PYTHONHASHSEED=0 (3 runs identical)" in lines
    rec = repro.load(cap / "repro.toml")
    assert not rec.reproducible and rec.fixed_by == ("PYTHONHASHSEED=0",)
    assert rec.summary == lines[0]


def test_nothing_fixes_a_truly_random_job_and_it_says_so(cli: CLI, tmp_path: Path) -> None:
    work = job(tmp_path / "work", RANDOM)
    done = cli("repro", "--explain", "--no-record", "--json", "--", PY, "job.py", cwd=work)
    assert done.returncode == 1, done.stderr
    explain = json.loads(done.stdout)["explain"]
    assert explain["fixed-by"] == [] and explain["still-differ"] == ["noise.bin"]
    tried = [t["setting"] for t in explain["trials"]]
    assert tried[0] == "PYTHONHASHSEED=0" and tried[-1].startswith("all together (")
    assert not any(t["agreed"] for t in explain["trials"])
    assert explain["line"].startswith("no candidate setting fixes it (")
    assert explain["line"].endswith("still differing: noise.bin")


def test_json_envelope(cli: CLI, tmp_path: Path) -> None:
    work = job(tmp_path / "work", SEEDED)
    done = cli("repro", "--json", "--no-record", "-o", "out/*.npy", "--", PY, "job.py", cwd=work)
    assert done.returncode == 0, done.stderr
    env = json.loads(done.stdout)
    assert set(env) == {
        "version",
        "reproducible",
        "summary",
        "command",
        "runs",
        "outputs",
        "environments",
        "likely-causes",
        "explain",
        "notes",
        "recorded",
    }
    assert env["version"] == 1 and env["reproducible"] is True
    (out,) = env["outputs"]
    assert out["path"] == "out/weights.npy" and out["tensors"][0]["shape"] == [8, 8]
    assert [r["returncode"] for r in env["runs"]] == [0, 0]


def test_a_symlink_among_the_outputs_is_not_followed(cli: CLI, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    work = job(tmp_path / "work", f"import os\nos.symlink({str(secret)!r}, 'latest')\n")
    done = cli("repro", "--no-record", "--json", "--", PY, "job.py", cwd=work)
    assert done.returncode == 0, done.stderr
    (out,) = json.loads(done.stdout)["outputs"]
    assert (out["path"], out["kind"], out["note"]) == (
        "latest",
        "link",
        "a symbolic link: not followed",
    )


def test_a_job_that_removes_a_file_is_noted(cli: CLI, tmp_path: Path) -> None:
    work = job(
        tmp_path / "work", "import os\nos.remove('old.txt')\nopen('new.txt', 'w').write('x')\n"
    )
    (work / "old.txt").write_text("keep me")
    done = cli("repro", "--no-record", "--", PY, "job.py", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (
        "note: the job removed files of its working directory (in the scratch copy): old.txt"
        in done.stdout
    )
    assert (work / "old.txt").read_text() == "keep me"


# ---------------------------------------------------------------- bad input: one line, exit 2


def one_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("envsnap: error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0].removeprefix("envsnap: error: ")


def test_no_command(cli: CLI, tmp_path: Path) -> None:
    assert one_error(cli("repro", cwd=tmp_path)) == "no command to run"
    assert one_error(cli("repro", "--runs", "3", "--", cwd=tmp_path)) == "no command to run"


def test_a_command_that_is_not_found(cli: CLI, tmp_path: Path) -> None:
    msg = one_error(cli("repro", "--", "no-such-trainer", "--epochs", "1", cwd=tmp_path))
    assert msg == "no-such-trainer: command not found (on PATH)"
    msg = one_error(cli("repro", "--", "./train.sh", cwd=tmp_path))
    assert msg == "./train.sh: command not found (in the working directory)"


def test_a_bare_program_name_is_never_the_one_in_the_working_directory(
    cli: CLI, tmp_path: Path
) -> None:
    """The processes door: a bare name is looked up in PATH's absolute folders only, even when
    PATH has an empty entry (the current folder, to a shell): a `python3` or `trainer` planted in
    the working directory (a stranger's archive) never runs in its place."""
    work = job(tmp_path / "work", "open('out.txt', 'w').write('1')\n")
    marker = tmp_path / "PWNED"
    for name in ("python3", "trainer"):
        (work / name).write_text(f'#!/bin/sh\ntouch "{marker}"\n')
        (work / name).chmod(0o755)
    env = {"PATH": os.pathsep + str(Path(PY).parent) + os.pathsep + os.environ["PATH"]}
    done = cli("repro", "--", "python3", "job.py", cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("reproducible: 2 runs, 1 output bit-identical")
    assert one_error(cli("repro", "--", "trainer", cwd=work, env=env)) == (
        "trainer: command not found (on PATH)"
    )
    assert not marker.exists()


def test_a_run_that_fails_shows_its_last_lines_escaped(cli: CLI, tmp_path: Path) -> None:
    work = job(
        tmp_path / "work",
        "import sys\nprint('loading data')\nprint('\\x1b[2Jbad \\x07 line', file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    done = cli("repro", "--", PY, "job.py", cwd=work)
    assert one_error(done) == "run 1 of 2 failed: exit status 3; nothing compared"
    assert "  | loading data" in done.stderr
    assert "  | \\x1b[2Jbad \\x07 line" in done.stderr and "\x1b" not in done.stderr
    js = cli("repro", "--json", "--", PY, "job.py", cwd=work)
    assert js.returncode == 2
    err = json.loads(js.stdout)["error"]
    assert err["tail"][-1] == "\x1b[2Jbad \x07 line" and err["exit_code"] == 2


def test_a_declared_output_that_is_missing(cli: CLI, tmp_path: Path) -> None:
    work = job(tmp_path / "work", SEEDED)
    msg = one_error(cli("repro", "-o", "model.safetensors", "--", PY, "job.py", cwd=work))
    assert msg.startswith("--output model.safetensors: no run made it")
    msg = one_error(cli("repro", "-o", "../outside", "--", PY, "job.py", cwd=work))
    assert msg.startswith("--output '../outside': expected a file, folder or glob inside")


def test_a_job_that_makes_nothing(cli: CLI, tmp_path: Path) -> None:
    work = job(tmp_path / "work", "print('hello')\n")
    done = cli("repro", "--", PY, "job.py", cwd=work)
    assert "created or changed no file in" in one_error(done)
    assert "hint: declare what to compare with --output PATH" in done.stderr


def test_other_bad_options(cli: CLI, tmp_path: Path) -> None:
    work = job(tmp_path / "work", SEEDED)
    assert one_error(cli("repro", "--runs", "1", "--", PY, "job.py", cwd=work)).startswith(
        "--runs: at least 2 runs are needed"
    )
    assert one_error(
        cli("repro", "--venv", str(tmp_path / "nope"), "--", PY, "job.py", cwd=work)
    ) == (f"--venv {tmp_path / 'nope'}: no bin/python there, and not an interpreter")
    assert one_error(
        cli("repro", "--capture", str(tmp_path / "nocap"), "--", PY, "job.py", cwd=work)
    ).startswith(f"{tmp_path / 'nocap'}: capture directory not found")


def test_live_progress_on_a_terminal(tmp_path: Path) -> None:
    work = job(tmp_path / "work", "import time\ntime.sleep(1.2)\nopen('x', 'w').write('1')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [PY, "-m", "envsnap", "repro", "--no-record", "--workdir", str(work), "--", PY, "job.py"]
    proc, screen = run_on_tty(argv, stream="stderr", env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert "\renvsnap: run 1 of 2 ... 1 s" in screen or "\renvsnap: run 1 of 2 ... 0 s" in screen
    assert "envsnap: run 2 of 2: done in " in screen


def test_verbose_shows_the_jobs_output_escaped(cli: CLI, tmp_path: Path) -> None:
    work = job(
        tmp_path / "work", "print('epoch 1 \\x1b]0;title\\x07')\nopen('x', 'w').write('1')\n"
    )
    done = cli("repro", "-v", "--no-record", "--", PY, "job.py", cwd=work)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("  | epoch 1 \\x1b]0;title\\x07") == 2


def test_help_teaches_with_an_example(cli: CLI) -> None:
    done = cli("repro", "--help")
    assert done.returncode == 0
    assert "envsnap repro --output model.safetensors --explain -- python train.py" in done.stdout
    assert "Exit status: 0 reproducible, 1 not reproducible, 2 bad input" in done.stdout
