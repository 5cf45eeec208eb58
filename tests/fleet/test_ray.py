"""`envsnap fleet --ray ADDRESS --spec DIR` on a local Ray cluster of three raylets, the last
one started under another NVIDIA driver (the NVML stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fakes.clustervenv import capture_with
from tests.fakes.scenario import machine, make_toolkit

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

HELPER = Path(__file__).with_name("ray_cluster.py")


@pytest.fixture(scope="module")
def ray_cluster(
    tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any, ray_python: Path
) -> Iterator[dict[str, Any]]:
    """Three raylets (the last on driver 590.44.01), a capture of the venv on 580.65.06."""
    root = tmp_path_factory.mktemp("ray")
    env = {**os.environ, **machine(fake_nvml, make_toolkit(root / "cuda"), driver="580.65.06")}
    env.update({"PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1"})
    capture = capture_with(ray_python, env, root / "capture")
    with open(root / "cluster.log", "w") as log:  # the child keeps its own copy
        proc = subprocess.Popen(
            [str(ray_python), str(HELPER), "3", "590.44.01"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        address = proc.stdout.readline().strip() if proc.stdout else ""
        if not address:
            proc.wait(timeout=60)
            log = (root / "cluster.log").read_text().strip().splitlines()
            pytest.skip(f"a local Ray cluster did not start: {log[-1] if log else 'no output'}")
        yield {"address": address, "capture": capture, "env": env, "python": ray_python}
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_every_node_checked_once_and_the_odd_driver_named(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    argv = [str(ray_cluster["python"]), "-m", "envsnap", "fleet", "--ray", ray_cluster["address"]]
    argv += ["--spec", str(ray_cluster["capture"]), "--timeout", "120"]
    result = subprocess.run(
        [*argv, str(reports)],
        env=ray_cluster["env"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    saved = sorted(p.name for p in reports.iterdir())
    assert len(saved) == 3, saved  # one report per raylet, each pinned to its node
    nodes = {json.loads((reports / name).read_text())["node"] for name in saved}
    drivers = {json.loads((reports / name).read_text())["fingerprint"]["driver"] for name in saved}
    assert drivers == {"580.65.06", "590.44.01"}
    odd = next(
        json.loads((reports / n).read_text())["node"]
        for n in saved
        if json.loads((reports / n).read_text())["fingerprint"]["driver"] == "590.44.01"
    )
    assert f"2 nodes have driver 580.65.06, {odd} has 590.44.01" in result.stdout
    assert len(nodes) == 3
    # the same folder aggregates the same way without Ray
    again = subprocess.run(
        [str(ray_cluster["python"]), "-m", "envsnap", "fleet", str(reports), "--expect", "3"],
        env=ray_cluster["env"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert again.returncode == 1
    assert f"{odd} has 590.44.01" in again.stdout


def test_without_ray_installed_one_line(tmp_path: Path) -> None:
    import importlib.util

    from tests.fakes.scenario import envsnap

    if importlib.util.find_spec("ray") is not None:
        pytest.skip("ray is installed in this interpreter")

    result = envsnap("fleet", "--ray", "--spec", str(tmp_path), env={})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "envsnap: error: --ray needs the ray package",
        "  hint: pip install ray",
    ]
