"""envsnap._subprocess.run and run_bytes: posix_spawn answers as `subprocess.run` did.

`run` and `run_bytes` start a program without importing `subprocess` where they can (no cwd, no
input): these tests hold that path to what `subprocess.run(capture_output=True, text=True,
errors="replace", timeout=...)` gives, and to the door's rules (no current-folder look-up, no
inherited descriptor).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envsnap._subprocess import run, run_bytes

pytestmark = pytest.mark.skipif(not hasattr(os, "posix_spawn"), reason="POSIX only")

SH = shutil.which("sh") or "/bin/sh"


def _reference(args: list[str], timeout: float = 30.0) -> tuple[int, str, str]:
    done = subprocess.run(
        args, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "script",
    [
        "printf 'a\\r\\nb\\rc'; printf 'err\\n' >&2; exit 3",  # newlines translated, both streams
        "printf '\\377\\376 not utf-8\\n'",  # undecodable bytes replaced
        "head -c 300000 /dev/zero | tr '\\0' x; head -c 300000 /dev/zero | tr '\\0' y >&2",
        "kill -9 $$",  # killed by a signal: a negative code
    ],
)
def test_run_gives_what_subprocess_gives(script: str) -> None:
    done = run([SH, "-c", script])
    assert (done.returncode, done.stdout, done.stderr) == _reference([SH, "-c", script])
    assert done.args == (SH, "-c", script)


def test_run_bytes_keeps_the_bytes_and_is_none_on_failure() -> None:
    assert run_bytes([SH, "-c", "printf 'a\\r\\n\\377'"]) == b"a\r\n\xff"
    assert run_bytes([SH, "-c", "printf x; exit 1"]) is None
    assert run_bytes(["envsnap-no-such-program"]) is None


def test_a_missing_program_and_a_time_out_do_not_raise(tmp_path: Path) -> None:
    missing = run(["envsnap-no-such-program", "--version"])
    assert missing.returncode is None and "No such file or directory" in missing.stderr
    assert run([str(tmp_path / "absent")]).returncode is None
    marker = tmp_path / "late"
    slow = run([SH, "-c", f"sleep 5; touch {marker}"], timeout=0.3)
    assert slow.returncode is None and "timed out" in slow.stderr
    assert not marker.exists()  # killed, not left running


def test_a_bare_name_is_never_found_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    fake = tmp_path / "envsnap-shadow"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    shadowed = {**os.environ, "PATH": f".:{os.environ['PATH']}"}
    done = run(["envsnap-shadow"], env=shadowed)
    assert done.returncode is None and not marker.exists()
    # nor where `subprocess` starts it (a cwd, an input): its own search would try "."
    assert run(["envsnap-shadow"], env=shadowed, cwd=str(tmp_path)).returncode is None
    assert run(["envsnap-shadow"], env=shadowed, input_text="").returncode is None
    assert run_bytes(["envsnap-shadow"], env=shadowed) is None
    assert not marker.exists()
    assert run([str(fake)]).ok and marker.exists()  # a path is used as given


def test_no_inheritable_descriptor_reaches_the_child() -> None:
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)
    # A Python child: dash refuses a descriptor above 9 itself ("Bad fd number"), which would
    # pass this test whatever was inherited.
    probe = [sys.executable, "-c", f"import os; os.write({write_end}, b'x'); print('leaked')"]
    try:
        control = subprocess.run(
            probe, capture_output=True, text=True, close_fds=False, check=False
        )
        done = run(probe)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert control.stdout.strip() == "leaked"  # the probe does see an inherited descriptor
    assert "leaked" not in done.stdout and done.returncode != 0


def test_the_environment_given_is_the_childs_whole_environment() -> None:
    done = run([SH, "-c", "echo ${ENVSNAP_T:-unset} ${HOME:-nohome}"], env={"ENVSNAP_T": "1"})
    assert done.stdout.split() == ["1", "nohome"]


def test_a_cwd_or_an_input_still_runs_through_subprocess(tmp_path: Path) -> None:
    assert run(["pwd"], cwd=str(tmp_path)).stdout.strip() == str(tmp_path.resolve())
    assert run(["cat"], input_text="fed\r\n").stdout == "fed\n"


def test_a_python_ignored_sigpipe_is_the_default_again_in_the_child() -> None:
    # Python ignores SIGPIPE; a child writing into a closed pipe must die of it quietly, as
    # with subprocess's restore_signals, not get EPIPE and complain ("Broken pipe").
    done = run([SH, "-c", "yes | head -c 1 >/dev/null"])
    assert done.ok and done.stderr == ""


def test_a_child_that_closes_its_pipes_is_still_waited_for_and_timed(tmp_path: Path) -> None:
    late = run([SH, "-c", "exec >&- 2>&-; sleep 0.3; exit 4"], timeout=10)
    assert late.returncode == 4  # reaped when it exits, not when its pipes close
    marker = tmp_path / "late"
    lives_on = run([SH, "-c", f"exec >&- 2>&-; sleep 5; touch {marker}"], timeout=0.3)
    assert lives_on.returncode is None and "timed out" in lives_on.stderr
    assert not marker.exists()


def test_with_sigchld_ignored_the_answer_is_subprocesss() -> None:
    # children are reaped by the kernel: no status to read, and subprocess says 0; so do we
    code = (
        "import signal, subprocess\n"
        "signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
        "from envsnap._subprocess import run\n"
        "ours = run(['sh', '-c', 'echo hi; exit 3'])\n"
        "theirs = subprocess.run(['sh', '-c', 'echo hi; exit 3'], capture_output=True, text=True)\n"
        "assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), ours\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
