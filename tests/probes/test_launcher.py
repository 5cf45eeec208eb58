"""Which launcher set OMP_NUM_THREADS in a worker (issue #18): torchrun's agent exports 1 to
its workers; Ray sets it inside the worker process. Real runs: tests/fleet/test_distributed.py
and tests/fleet/test_ray.py."""

from __future__ import annotations

import os
import subprocess
import sys

from envsnap.probes import launcher

WORKER = {"TORCHELASTIC_RUN_ID": "none", "LOCAL_WORLD_SIZE": "4", "OMP_NUM_THREADS": "1"}


def test_torchrun_workers_with_its_default() -> None:
    assert launcher.probe(WORKER, WORKER) == (("OMP_NUM_THREADS", "torchrun"),)
    # one process per node: torchrun sets nothing; another value: the user's
    assert launcher.probe({**WORKER, "LOCAL_WORLD_SIZE": "1"}, None) == ()
    assert launcher.probe({**WORKER, "OMP_NUM_THREADS": "4"}, None) == ()
    assert launcher.probe({"OMP_NUM_THREADS": "1"}, None) == ()


def test_ray_sets_it_after_the_process_started() -> None:
    now = {"OMP_NUM_THREADS": "1"}
    assert launcher.probe(now, {}, ray=True) == (("OMP_NUM_THREADS", "ray"),)
    assert launcher.probe(now, now, ray=True) == ()  # exported before: the user's value
    assert launcher.probe(now, {}, ray=False) == ()
    assert launcher.probe({}, {}, ray=True) == ()


def test_started_with_is_the_environment_at_exec_not_os_environ() -> None:
    code = (
        "import os; from envsnap.probes import launcher\n"
        "os.environ['LATE'] = '1'\n"
        "first = launcher.started_with()\n"
        "print(first.get('EARLY'), 'LATE' in first)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "EARLY": "yes"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["yes", "False"]
