"""Memory probe: recorded /proc/meminfo, sysfs NUMA node folders, broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

from envsnap.probes import memory

DATA = Path(__file__).resolve().parent.parent / "data" / "meminfo"


def test_recorded_meminfo() -> None:
    text = (DATA / "debian12-24g.txt").read_text(encoding="utf-8")
    assert memory.parse_meminfo(text) == 24683656 * 1024


def test_garbled_meminfo_is_zero() -> None:
    assert memory.parse_meminfo("") == 0
    assert memory.parse_meminfo("MemTotal: lots kB\n") == 0
    assert memory.parse_meminfo("MemFree: 10 kB\n") == 0
    assert memory.parse_meminfo("MemTotal:       1024 parsecs\n") == 0


def test_numa_node_names() -> None:
    names = ["has_cpu", "has_memory", "node0", "node1", "node10", "online", "possible", "power"]
    assert memory.count_numa_nodes(names) == 3
    assert memory.count_numa_nodes([]) == 1


def test_probe_reads_proc_and_sysfs_trees(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    shutil.copy(DATA / "debian12-24g.txt", proc / "meminfo")
    nodes = tmp_path / "sys/devices/system/node"
    for name in ("node0", "node1", "node2", "node3", "has_cpu"):
        (nodes / name).mkdir(parents=True)
    (nodes / "online").write_text("0-3\n")
    got = memory.probe(proc, tmp_path / "sys")
    assert got == memory.Memory(total_bytes=24683656 * 1024, numa_nodes=4)


def test_probe_with_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "meminfo").mkdir()
    assert memory.probe(tmp_path, tmp_path / "nosys") == memory.Memory(0, 1)


def test_live_probe() -> None:
    got = memory.probe()
    if Path("/proc/meminfo").exists():
        assert got.total_bytes > 0
    assert got.numa_nodes >= 1
