"""Memory: total RAM from /proc/meminfo and the NUMA node count from sysfs.

Honours ``ENVSNAP_PROC_ROOT`` / ``ENVSNAP_SYS_ROOT`` like `envsnap.probes.cpu`. An unreadable
or garbled file gives zero bytes (unknown), never an exception.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..model import Memory
from .cpu import proc_root, sys_root

__all__ = ["count_numa_nodes", "parse_meminfo", "probe"]

_NODE = r"node[0-9]+"  # compiled by `re` on first use
_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def probe(
    proc: str | os.PathLike[str] | None = None, sysfs: str | os.PathLike[str] | None = None
) -> Memory:
    """Total RAM in bytes and the number of NUMA nodes (1 when sysfs does not say)."""
    meminfo = (Path(proc) if proc is not None else proc_root()) / "meminfo"
    try:
        total = parse_meminfo(meminfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        total = 0
    nodes = (Path(sysfs) if sysfs is not None else sys_root()) / "devices/system/node"
    try:
        names = [p.name for p in nodes.iterdir()]
    except OSError:
        names = []
    return Memory(total_bytes=total, numa_nodes=count_numa_nodes(names))


def parse_meminfo(text: str) -> int:
    """Pure: MemTotal in bytes from the text of /proc/meminfo (0 when absent or garbled)."""
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key.strip() != "MemTotal":
            continue
        parts = rest.split()
        if not parts or not parts[0].isdigit():
            return 0
        unit = parts[1].lower() if len(parts) > 1 else ""
        return int(parts[0]) * _UNITS.get(unit, 0)
    return 0


def count_numa_nodes(names: list[str]) -> int:
    """Pure: the number of ``nodeN`` entries among a sysfs folder's names, at least 1."""
    return max(1, sum(1 for n in names if re.fullmatch(_NODE, n)))
