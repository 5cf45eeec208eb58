"""Issue #17, class 7: two `--node` names that sanitise to one file name keep a report each.

`a/b` and `a_b` (or `a b`) become the same `a_b` when made a file name: the second report used
to replace the first without a word, and the fleet saw one node where there were two.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import run_envsnap
from tests.security.conftest import offline_env


def test_names_that_sanitise_alike_never_overwrite_each_other(
    bare_capture: Path, tmp_path: Path
) -> None:
    python = bare_capture.parent / "venv" / "bin" / "python"
    reports = tmp_path / "reports"
    env = offline_env(tmp_path)
    lines = []
    for node in ("a_b", "a/b", "a b"):
        done = run_envsnap(
            "check", str(bare_capture), "--python", str(python),
            "--save", str(reports), "--node", node, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines += done.stderr.splitlines()
    files = sorted(os.listdir(reports))
    assert len(files) == 3 and "a_b.json" in files, files
    # one line for each renamed node, naming it and the name it would have collided with
    assert len(lines) == 2, lines
    assert all("'a_b' has its own file" in ln for ln in lines), lines
    assert "node 'a/b' is not a file name" in lines[0]
    fleet = run_envsnap("fleet", str(reports), "--expect", "3", env=env)
    assert fleet.returncode == 0, fleet.stdout + fleet.stderr
    rows = fleet.stdout.splitlines()[1:4]
    for node in ("a_b", "a/b", "a b"):
        assert any(row.startswith(node + " ") for row in rows), fleet.stdout
