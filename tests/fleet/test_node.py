"""Naming a node, the numerics digest contract, the pure report of a (recorded, current) pair."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from envsnap import probes
from envsnap.checks import check
from envsnap.errors import InputError
from envsnap.fleet.node import check_node, node_name, numerics_digest, safe_name, snapshot_report
from envsnap.fleet.nodereport import parse
from envsnap.formats.capture import write
from envsnap.model import (
    CPU,
    GPU,
    Environment,
    GPUs,
    Hardware,
    OSInfo,
    Package,
    PythonInfo,
    Snapshot,
)

SLURM = {"SLURMD_NODENAME": "gpu-7", "SLURM_PROCID": "6"}


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({}, "host-a"),
        ({**SLURM, "SLURM_STEP_TASKS_PER_NODE": "1(x8)"}, "gpu-7"),
        ({**SLURM, "SLURM_TASKS_PER_NODE": "1,1"}, "gpu-7"),
        ({**SLURM, "SLURM_STEP_TASKS_PER_NODE": "4(x2)"}, "gpu-7-task6"),
        ({"SLURM_PROCID": "2"}, "host-a-task2"),
        ({"RANK": "5", "LOCAL_WORLD_SIZE": "8"}, "host-a-rank5"),
        ({"RANK": "5", "LOCAL_WORLD_SIZE": "1"}, "host-a"),
    ],
)
def test_node_name(environ: dict[str, str], name: str) -> None:
    assert node_name(environ, "host-a") == name


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("node-7", "node-7"),
        ("../../etc/passwd", "etc_passwd"),
        ("a b\x1b[31m", "a_b_31m"),
        ("...", "node"),
        ("x" * 300, "x" * 120),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_numerics_digest_follows_the_contract(tmp_path: Path) -> None:
    assert numerics_digest(tmp_path) is None
    (tmp_path / "numerics.toml").write_text(
        'version = 1\nbattery-version = "1"\n\n[[probes]]\nid = "matmul-f32"\nsha256 = "bb"\n\n'
        '[[probes]]\nid = "conv-f16"\nsha256 = "aa"\nseconds = 0.1\n'
    )
    expected = hashlib.sha256(b"conv-f16 aa\nmatmul-f32 bb\n").hexdigest()
    assert numerics_digest(tmp_path) == expected
    # read through the in door: a broken file is one error naming it, never silently no digest
    (tmp_path / "numerics.toml").write_text("version = [\n")
    with pytest.raises(InputError, match=r"numerics\.toml: not valid TOML"):
        numerics_digest(tmp_path)


def _snap(driver: str, packages: dict[str, str], gpus: int = 2) -> Snapshot:
    env = Environment(
        python=PythonInfo("cpython", "3.11.7", abi="cp311"),
        os=OSInfo("Linux", "x86_64", pretty_name="Debian GNU/Linux 12 (bookworm)", kernel="6.1.0"),
        packages=tuple(Package(n, v, "index") for n, v in packages.items()),
        envvars=(("PYTHONHASHSEED", "0"),),
    )
    a100 = "NVIDIA A100-SXM4-80GB"
    devices = tuple(
        GPU(i, a100, memory_total_bytes=80 << 30, compute_capability="8.0") for i in range(gpus)
    )
    hw = Hardware(
        cpu=CPU("x86_64", model_name="Xeon", flags=("avx2", "fma")),
        gpus=GPUs("ok", driver_version=driver, devices=devices),
    )
    return Snapshot(environment=env, hardware=hw)


def test_snapshot_report_fingerprint_and_differ() -> None:
    recorded = _snap("535.104.05", {"torch": "2.4.0", "numpy": "2.0.0"})
    current = _snap("550.54.15", {"torch": "2.4.1", "extra": "1.0"}, gpus=1)
    rep = snapshot_report(recorded, current, node="n1", numerics="ab" * 32)
    fp = dict(rep.fingerprint)
    assert fp["driver"] == "550.54.15"
    assert fp["gpus"] == "1 x NVIDIA A100-SXM4-80GB 81920 MiB cc 8.0"
    assert fp["python"] == "cpython 3.11.7 cp311"
    assert fp["isa"] == "x86_64 AVX2"
    assert fp["determinism"] == "PYTHONHASHSEED=0"
    assert fp["numerics"] == "ab" * 32
    assert fp["nccl"] == "none"
    assert rep.differ == (
        ("extra", "", "1.0"),
        ("numpy", "2.0.0", "missing"),
        ("torch", "2.4.0", "2.4.1"),
    )
    assert rep.verdict == "incompatible"
    assert {f.code for f in rep.report.errors} >= {"package.missing", "package.version"}
    assert parse(rep.dumps()) == rep
    same = snapshot_report(recorded, recorded, node="n2")
    assert same.differ == ()
    assert dict(same.fingerprint)["packages"] == dict(same.fingerprint)["capture"]


def test_the_capture_numerics_join_the_capture_identity() -> None:
    snap = _snap("535.104.05", {"torch": "2.4.0"})
    plain = dict(snapshot_report(snap, snap, node="a").fingerprint)["capture"]
    one = dict(snapshot_report(snap, snap, node="a", capture_numerics="1" * 64).fingerprint)
    two = dict(snapshot_report(snap, snap, node="a", capture_numerics="2" * 64).fingerprint)
    assert len({plain, one["capture"], two["capture"]}) == 3
    assert one["packages"] == plain  # the package set itself is the same


def test_a_node_report_holds_the_check_of_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check_node` runs `envsnap check`'s own check (`checks.check_snapshot`): the same report,
    and the time this machine was read (SOURCE_DATE_EPOCH makes it reproducible)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    capture = tmp_path / "cap"
    write(probes.capture(lock=False), capture)
    node = check_node(capture, node="n1", environ={})
    assert node.report == check(capture)
    assert (node.node, node.capture, node.rank) == ("n1", str(capture), "")
    assert node.created_at == "2023-11-14T22:13:20Z"
