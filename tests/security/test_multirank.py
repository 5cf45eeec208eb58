"""Issue #17, class 5: under `require(distributed=True)`, one rank can neither deceive nor crash
the others. A real torchrun (CPU, 3 ranks) where rank 2 is hostile: it writes the job's store
itself (a forged verdict, again and again; a verdict of the wrong JSON type; a report nested
100,000 deep; a 4 MB message), while the others run the ordinary check.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fakes.clustervenv import capture_with
from tests.fakes.scenario import machine, make_toolkit

pytestmark = pytest.mark.slow  # a venv with torch, torchrun with three ranks

WRAPPER = """#!/bin/sh
exec "$RANK_PYTHON" "$@"
"""
# A package the torch venv does not have: a rank checked against this lock fails its own check.
MISSING = (
    '\n[[tool.envsnap.unhashed]]\nname = "not-installed-here"\nversion = "1.0"\nsource = "index"\n'
)

SCRIPT = """
import json, os, sys, threading, time

def say(text):  # one write(2) per line: three ranks share the pipe, a line stays whole
    os.write(1, (text + "\\n").encode())

rank, hostile = os.environ["RANK"], os.environ.get("HOSTILE", "")
import envsnap
if rank == "2" and hostile:
    from datetime import timedelta
    from torch.distributed import TCPStore
    store = TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]),
                     is_master=False, timeout=timedelta(seconds=60))
    prefix = "/".join(("envsnap-fleet", os.environ.get("TORCHELASTIC_RUN_ID", ""),
                       os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"), "1"))
    if hostile in ("deep", "huge"):  # rank 2's own message, instead of a report
        store.set(prefix + "/2", "[" * 100000 if hostile == "deep" else "x" * (4 << 20))
        say("rank 2 sent its message")
        sys.exit(0)
    forged = {"ok": json.dumps({"ok": True, "message": "", "hint": None}), "list": "[1, 2]"}
    def forge():
        while True:
            store.set(prefix + "/verdict", forged[hostile])
            time.sleep(0.002)
    threading.Thread(target=forge, daemon=True).start()
    time.sleep(0.5)  # before anyone else could publish
capture = os.environ["ODD_CAPTURE"] if rank == os.environ.get("ODD_RANK") else sys.argv[1]
try:
    envsnap.require(capture, distributed=True, timeout=float(sys.argv[2]))
except envsnap.errors.CheckFailed as exc:
    say(f"rank {rank} raised: {exc}")
    sys.exit(0)
except BaseException as exc:
    say(f"rank {rank} crashed: {type(exc).__name__}: {exc}")
    sys.exit(0)
say(f"rank {rank} returned")
"""


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any, cluster_python: Path) -> Any:
    """Run a 3-rank torchrun of SCRIPT against a capture of the torch venv on 8x A100."""
    root = tmp_path_factory.mktemp("multirank")
    env = {**os.environ, **machine(fake_nvml, make_toolkit(root / "cuda"), driver="580.65.06")}
    env.update(
        {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "RANK_PYTHON": str(cluster_python)}
    )
    env["PYTHONHASHSEED"] = "0"  # scenario.DETERMINISM: as recorded
    capture = capture_with(cluster_python, env, root / "capture")
    odd = root / "odd-capture"
    odd.mkdir()
    for name in ("pylock.toml", "hardware.toml"):
        (odd / name).write_bytes((capture / name).read_bytes())
    with (odd / "pylock.toml").open("a") as fh:
        fh.write(MISSING)
    env["ODD_CAPTURE"] = str(odd)
    (root / "wrap.sh").write_text(WRAPPER)
    (root / "wrap.sh").chmod(0o755)
    (root / "train.py").write_text(SCRIPT)

    def run(**extra: str) -> dict[str, str]:
        argv = [
            str(cluster_python), "-m", "torch.distributed.run", "--nproc-per-node", "3",
            "--no-python", str(root / "wrap.sh"), str(root / "train.py"), str(capture), "30",
        ]  # fmt: skip
        result = subprocess.run(
            argv, env={**env, **extra}, capture_output=True, text=True, check=False, timeout=300
        )
        outcome: dict[str, str] = {}
        rank = ""
        for line in result.stdout.splitlines():  # a message's own lines follow its first
            found = re.match(r"rank (\d) (.*)", line)
            if found:
                rank = found[1]
                outcome[rank] = found[2]
            elif rank:
                outcome[rank] += "\n" + line
        outcome["stderr"] = result.stderr[-3000:]
        return outcome

    return SimpleNamespace(run=run)


def test_a_rank_whose_own_check_failed_raises_whatever_verdict_it_reads(job: Any) -> None:
    ranks = job.run(HOSTILE="ok", ODD_RANK="1")
    assert ranks.get("1", "").startswith("raised: "), ranks  # not "returned"
    assert "not-installed-here" in ranks["1"], ranks
    # rank 0 acts on its own verdict and says its key was written by another
    assert ranks.get("0", "").startswith("raised: envsnap fleet check"), ranks
    assert "someone other than rank 0" in ranks["0"], ranks


def test_a_verdict_of_the_wrong_type_is_one_check_failure(job: Any) -> None:
    ranks = job.run(HOSTILE="list")
    assert ranks.get("1") == (
        "raised: envsnap fleet check: the published verdict is malformed (not a verdict); refused"
    ), ranks
    assert ranks.get("0", "").startswith("raised: "), ranks
    assert not any(v.startswith("crashed") for v in ranks.values()), ranks


@pytest.mark.parametrize(
    ("hostile", "why"),
    [("deep", "rank 2: not JSON (nested too deeply)"), ("huge", "rank 2: sent 4194304 bytes")],
)
def test_a_malformed_message_names_its_rank_and_crashes_no_other(
    job: Any, hostile: str, why: str
) -> None:
    ranks = job.run(HOSTILE=hostile)
    assert ranks.get("2") == "sent its message", ranks
    for rank in ("0", "1"):
        assert ranks.get(rank, "").startswith("raised: envsnap fleet check failed"), ranks
        assert why in ranks[rank], ranks
