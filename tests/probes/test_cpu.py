"""CPU probe: recorded /proc/cpuinfo of x86 and Arm machines, sysfs topology, broken files."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envsnap.formats import hardware
from envsnap.probes import cpu

DATA = Path(__file__).resolve().parent.parent / "data" / "cpuinfo"
ROOT = Path(__file__).resolve().parents[2]


def _parse(name: str, machine: str) -> cpu.CPU:
    return cpu.parse_cpuinfo((DATA / name).read_text(encoding="utf-8"), machine)


def test_amd_epyc_vm() -> None:
    got = _parse("x86_64-amd-epyc-2cpu.txt", "x86_64")
    assert (got.vendor, got.model_name) == ("AuthenticAMD", "AMD EPYC")
    assert (got.family, got.model, got.stepping) == (25, 1, 1)
    assert (got.sockets, got.physical_cores, got.logical_cores) == (1, 2, 2)
    line = next(
        ln
        for ln in (DATA / "x86_64-amd-epyc-2cpu.txt").read_text().splitlines()
        if ln.startswith("flags")
    )
    assert list(got.flags) == sorted(set(line.split(":", 1)[1].split()))
    assert {"avx2", "fma", "sha_ni", "vaes"} <= set(got.flags)


def test_two_socket_xeon_with_hyperthreads_and_amx() -> None:
    got = _parse("x86_64-xeon-8480-2socket-ht.txt", "x86_64")
    assert got.vendor == "GenuineIntel"
    assert got.model_name == "Intel(R) Xeon(R) Platinum 8480+"
    assert (got.family, got.model, got.stepping) == (6, 143, 8)
    assert (got.sockets, got.physical_cores, got.logical_cores) == (2, 4, 8)
    assert {"avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "fma"} <= set(
        got.flags
    )
    assert list(got.flags) == sorted(got.flags)


def test_aarch64_graviton2() -> None:
    got = _parse("aarch64-graviton2-neoverse-n1.txt", "aarch64")
    assert (got.arch, got.vendor, got.model_name) == ("aarch64", "ARM", "Neoverse-N1")
    assert (got.family, got.model, got.stepping) == (8, 0xD0C, 1)
    assert got.logical_cores == 4
    assert got.sockets is None  # Arm cpuinfo has no topology; sysfs fills it in probe()
    assert {"asimd", "asimddp", "atomics", "crc32"} <= set(got.flags)


def test_aarch64_raspberry_pi5() -> None:
    got = _parse("aarch64-raspberrypi5-cortex-a76.txt", "aarch64")
    assert (got.vendor, got.model_name, got.logical_cores) == ("ARM", "Cortex-A76", 4)


def test_unknown_arm_part_is_named_by_number() -> None:
    text = "processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x61\nCPU part\t: 0x039\n"
    got = cpu.parse_cpuinfo(text, "aarch64")
    assert (got.vendor, got.model_name) == ("Apple", "Apple part 0x039")


def _tree(tmp_path: Path, cpuinfo: str | None) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    if cpuinfo is not None:
        shutil.copy(DATA / cpuinfo, proc / "cpuinfo")
    return proc


def test_probe_fills_arm_topology_from_sysfs(tmp_path: Path) -> None:
    proc = _tree(tmp_path, "aarch64-graviton2-neoverse-n1.txt")
    sysfs = tmp_path / "sys"
    for n in range(4):
        topo = sysfs / f"devices/system/cpu/cpu{n}/topology"
        topo.mkdir(parents=True)
        (topo / "physical_package_id").write_text("0\n")
        (topo / "core_id").write_text(f"{n}\n")
    got = cpu.probe(proc, sysfs)
    assert (got.sockets, got.physical_cores, got.logical_cores) == (1, 4, 4)


def test_parse_topology() -> None:
    assert cpu.parse_topology([]) == (None, None)
    assert cpu.parse_topology([("0", "0"), ("0", "0"), ("1", "0"), ("1", "1")]) == (2, 3)


def test_garbled_file_gives_what_could_be_read(tmp_path: Path) -> None:
    got = cpu.probe(_tree(tmp_path, "garbled.txt"), tmp_path / "nosys")
    assert got.arch == platform.machine()
    assert got.vendor == "GenuineIntel"
    assert got.family is None and got.model is None
    assert got.logical_cores == 1
    assert list(got.flags) == ["sse", "sse2"]  # "avx\0" is debris, not a flag


@pytest.mark.parametrize("broken", ["directory", "missing", "empty"])
def test_unreadable_or_empty_cpuinfo_gives_only_the_architecture(tmp_path: Path, broken) -> None:
    proc = _tree(tmp_path, None)
    if broken == "directory":
        (proc / "cpuinfo").mkdir()
    elif broken == "empty":
        (proc / "cpuinfo").write_text("")
    assert cpu.probe(proc, tmp_path / "nosys") == cpu.CPU(arch=platform.machine())


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="needs Linux /proc")
def test_live_probe_reads_proc_and_never_loads_py_cpuinfo() -> None:
    code = (
        "import json, sys; from envsnap.probes import cpu; c = cpu.probe(); "
        "print(json.dumps([c.to_dict(), 'cpuinfo' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    data, loaded_py_cpuinfo = json.loads(out)
    assert loaded_py_cpuinfo is False
    assert data["arch"] == platform.machine()
    assert data["logical-cores"] >= 1


def test_cli_capture_with_unreadable_proc_cpuinfo_still_succeeds(cli, tmp_path: Path) -> None:
    proc = _tree(tmp_path, None)
    (proc / "cpuinfo").mkdir()  # reading it fails with EISDIR, as an unreadable file would
    out = tmp_path / "out"
    result = cli("capture", "--offline", "-q", "-o", str(out), env={"ENVSNAP_PROC_ROOT": str(proc)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    hw = hardware.load(out / "hardware.toml")
    assert hw.cpu == cpu.CPU(arch=platform.machine())
    assert hw.memory.total_bytes == 0  # no meminfo under the fake /proc either


def test_cli_capture_against_recorded_proc(cli, tmp_path: Path) -> None:
    proc = _tree(tmp_path, "x86_64-xeon-8480-2socket-ht.txt")
    shutil.copy(DATA.parent / "meminfo" / "debian12-24g.txt", proc / "meminfo")
    out = tmp_path / "out"
    result = cli("capture", "--offline", "-q", "-o", str(out), env={"ENVSNAP_PROC_ROOT": str(proc)})
    assert result.returncode == 0, result.stderr
    hw = hardware.load(out / "hardware.toml")
    assert hw.cpu.model_name == "Intel(R) Xeon(R) Platinum 8480+"
    assert (hw.cpu.sockets, hw.cpu.physical_cores, hw.cpu.logical_cores) == (2, 4, 8)
    assert "amx_tile" in hw.cpu.flags
    assert hw.memory.total_bytes == 24683656 * 1024
