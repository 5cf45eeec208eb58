"""The Slurm recipes against a real Slurm: slurmctld and slurmd (Debian's slurm-wlm) started
here on one host with several tasks, `auth/none` so that no munge daemon is needed.

`srun -n 3` runs `envsnap check --save` in three tasks (task 2 under another driver through
the NVML stand-in), then `envsnap fleet` reads the folder; and the prolog example writes a
report at allocation that the batch script's `envsnap fleet` reads. Skipped, with the reason,
where the daemons cannot start (not root, slurm-wlm not installed, ...).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fakes.scenario import capture, machine, make_demo_venv, make_toolkit

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

EXAMPLES = ROOT / "examples" / "slurm"
CONF = """\
ClusterName=envsnap-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
Prolog={root}/envsnap-prolog.sh
PrologFlags=Alloc
NodeName={host} NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _why_not() -> str | None:
    missing = [t for t in ("slurmctld", "slurmd", "srun", "sbatch") if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install slurm-wlm; .ci/slurm-setup)"
    if os.geteuid() != 0:
        return "slurmd runs jobs as root here: the test needs root"
    return None


def _wait_idle(env: dict[str, str], deadline: float) -> bool:
    while time.monotonic() < deadline:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, check=False
        )
        if done.stdout.strip() == "idle":
            return True
        time.sleep(0.5)
    return False


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any) -> Iterator[dict[str, Any]]:
    """A running one-host Slurm, a capture of a venv on 8x A100, and an `envsnap` command."""
    why = _why_not()
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(CONF.format(host=host, root=root, ctld_port=_free_port(), d_port=_free_port()))
    toolkit = make_toolkit(root / "cuda")
    python = make_demo_venv(root / "venv", "1.0")
    env = {**os.environ, **machine(fake_nvml, toolkit), "SLURM_CONF": str(conf)}
    env["PYTHONPATH"] = str(ROOT)
    cap = capture(root / "capture", python, env)
    tool = root / "envsnap"
    tool.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m envsnap "$@"\n')
    tool.chmod(0o755)
    # The prolog example, with this test's site settings; slurmd gives a prolog only SLURM_*
    # variables, so the stand-in machine (and the PATH) is set inside it.
    node_env = {**machine(fake_nvml, toolkit), "PATH": os.environ.get("PATH", "")}
    fake = " ".join(f"{k}={shlex.quote(v)}" for k, v in node_env.items())
    prolog = (EXAMPLES / "envsnap-prolog.sh").read_text()
    for key, value in (("CAPTURE", cap), ("REPORTS", root / "prolog-reports"),
                       ("ENVSNAP", tool), ("PYTHON", python)):  # fmt: skip
        prolog = prolog.replace(f"\n{key}=", f"\n{key}={value}\n#{key}=", 1)
    prolog = prolog.replace('\n[ -n "$SLURM_JOB_ID" ]', f'\nexport {fake}\n[ -n "$SLURM_JOB_ID" ]')
    (root / "envsnap-prolog.sh").write_text(prolog)
    (root / "envsnap-prolog.sh").chmod(0o755)
    daemons = []
    for argv in (
        ["slurmctld", "-D", "-f", str(conf)],
        ["slurmd", "-D", "-N", host, "-f", str(conf)],
    ):
        daemons.append(
            subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    try:
        if not _wait_idle(env, time.monotonic() + 60):
            logs = [root / "slurmctld.log", root / "slurmd.log"]
            tail = [p.read_text().strip().splitlines()[-1:] for p in logs if p.exists()]
            pytest.skip(f"slurmctld/slurmd did not come up: {tail}")
        yield {"env": env, "capture": cap, "python": python, "envsnap": tool, "root": root}
    finally:
        for proc in daemons:
            proc.terminate()
        for proc in daemons:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_srun_one_check_per_task_then_fleet(slurm: dict[str, Any], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    task = tmp_path / "task.sh"
    task.write_text(
        "#!/bin/sh\n"
        '[ "$SLURM_PROCID" = 2 ] && export FAKE_NVML_DRIVER=590.44.01\n'
        f"exec {slurm['envsnap']} check {slurm['capture']} --python {slurm['python']} "
        f"--save {reports}\n"
    )
    task.chmod(0o755)
    srun = subprocess.run(
        ["srun", "-n", "3", "--time=2", str(task)],
        env=slurm["env"],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    host = socket.gethostname().split(".")[0]
    assert reports.is_dir(), srun.stdout + srun.stderr
    assert sorted(os.listdir(reports)) == [f"{host}-task{i}.json" for i in range(3)], srun.stderr
    fleet = subprocess.run(
        [str(slurm["envsnap"]), "fleet", str(reports), "--expect", "3"],
        env=slurm["env"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fleet.returncode == 1, fleet.stdout + fleet.stderr
    assert f"2 nodes have driver 535.104.05, {host}-task2 has 590.44.01" in fleet.stdout


def test_prolog_reports_and_the_batch_script_reads_them(slurm: dict[str, Any]) -> None:
    out = slurm["root"] / "job.out"
    batch = slurm["root"] / "job.sh"
    reports = slurm["root"] / "prolog-reports"
    batch.write_text(
        "#!/bin/sh\n"
        f'{slurm["envsnap"]} fleet "{reports}/$SLURM_JOB_ID" --expect "$SLURM_JOB_NUM_NODES"\n'
    )
    job = subprocess.run(
        ["sbatch", "--wait", "-N", "1", "--time=2", "-o", str(out), str(batch)],
        env=slurm["env"],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    text = out.read_text() if out.exists() else ""
    assert job.returncode == 0, job.stdout + job.stderr + text
    host = socket.gethostname().split(".")[0]
    assert text.splitlines()[1].split() == [host, "compatible", "0", "0"]
    assert text.rstrip().endswith(
        "fleet ok: 1 of 1 node(s) reported (1 compatible); the nodes agree with each other"
    )
