"""The docker lock every docker-marked test takes (tests/fakes/docker.py): a run started under
`flock LOCK ...` reuses its parent's lock instead of waiting for itself forever, and its workers
still take turns."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

ENTER = "from tests.fakes.docker import docker_lock\nwith docker_lock():\n    print('inside')\n"


def _child(lock: Path, *prefix: str, code: str = ENTER) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "ENVSNAP_DOCKER_LOCK": str(lock), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_under_flock_the_parents_lock_is_used(tmp_path: Path) -> None:
    lock = tmp_path / "docker.lock"
    done = _child(lock, "flock", str(lock))
    assert (done.returncode, done.stdout) == (0, "inside\n"), done.stderr


def test_without_a_parent_the_lock_is_taken_and_released(tmp_path: Path) -> None:
    lock = tmp_path / "docker.lock"
    done = _child(lock)
    assert (done.returncode, done.stdout) == (0, "inside\n"), done.stderr
    with lock.open() as fh:  # released: this process can take it at once
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_worker_started_without_the_descriptor_uses_its_parents_lock(tmp_path: Path) -> None:
    # pytest-xdist's workers under `flock LOCK make test`: a child whose descriptors are closed
    lock = tmp_path / "docker.lock"
    spawn = (
        "import subprocess, sys\n"
        f"sys.exit(subprocess.run([sys.executable, '-c', {ENTER!r}], timeout=30).returncode)\n"
    )
    done = _child(lock, "flock", str(lock), code=spawn)
    assert (done.returncode, done.stdout) == (0, "inside\n"), done.stderr


def test_workers_under_one_parents_lock_take_turns(tmp_path: Path) -> None:
    """Two workers of one `flock LOCK make test`: each holds the lock beside LOCK while inside,
    so one enters only after the other left (they built at once and deleted each other's
    intermediate images)."""
    lock = tmp_path / "docker.lock"
    inside = (
        "import sys, time\nfrom tests.fakes.docker import docker_lock\nwith docker_lock():\n"
        "    print(sys.argv[1], 'in', flush=True); time.sleep(1); print(sys.argv[1], 'out')\n"
    )
    spawn = (
        "import subprocess, sys\n"
        f"workers = [subprocess.Popen([sys.executable, '-c', {inside!r}, n]) for n in 'ab']\n"
        "sys.exit(max(w.wait(timeout=30) for w in workers))\n"
    )
    done = _child(lock, "flock", str(lock), code=spawn)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")[:4]
    assert [ln.split()[1] for ln in lines] == ["in", "out", "in", "out"], done.stdout
    assert lines[0].split()[0] == lines[1].split()[0], done.stdout
