"""The CPU: vendor, model, family/model/stepping, cores and every instruction-set flag.

Linux reads ``/proc/cpuinfo`` and parses it in the pure `parse_cpuinfo` (x86 and aarch64
formats); py-cpuinfo (``get_cpu_info()`` takes about a second) is used only where there is no
``/proc/cpuinfo`` at all, i.e. off Linux. A missing, unreadable or garbled file gives a `CPU`
with what could be read (at least the architecture), never an exception.

``ENVSNAP_PROC_ROOT`` names a folder to read instead of ``/proc`` and ``ENVSNAP_SYS_ROOT`` one
instead of ``/sys`` (for tests that drive the CLI against recorded files).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from ..model import CPU, replace

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["parse_cpuinfo", "parse_topology", "probe", "proc_root", "sys_root"]

# A flag's characters ([A-Za-z0-9_.+-]+): drops NULs and other debris from a garbled file. A set,
# not a pattern: a set test per flag is a tenth of what `re.fullmatch` costs, a hundred times.
_FLAG = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")

# MIDR implementer and part numbers (Arm ARM D19.2.122; util-linux sys-utils/lscpu-arm.c).
_ARM_IMPLEMENTERS = {
    0x41: "ARM",
    0x42: "Broadcom",
    0x43: "Cavium",
    0x46: "Fujitsu",
    0x48: "HiSilicon",
    0x4E: "NVIDIA",
    0x50: "APM",
    0x51: "Qualcomm",
    0x61: "Apple",
    0x69: "Intel",
    0xC0: "Ampere",
}
_ARM_PARTS = {
    (0x41, 0xD03): "Cortex-A53",
    (0x41, 0xD04): "Cortex-A35",
    (0x41, 0xD05): "Cortex-A55",
    (0x41, 0xD07): "Cortex-A57",
    (0x41, 0xD08): "Cortex-A72",
    (0x41, 0xD09): "Cortex-A73",
    (0x41, 0xD0A): "Cortex-A75",
    (0x41, 0xD0B): "Cortex-A76",
    (0x41, 0xD0C): "Neoverse-N1",
    (0x41, 0xD0D): "Cortex-A77",
    (0x41, 0xD40): "Neoverse-V1",
    (0x41, 0xD41): "Cortex-A78",
    (0x41, 0xD44): "Cortex-X1",
    (0x41, 0xD46): "Cortex-A510",
    (0x41, 0xD47): "Cortex-A710",
    (0x41, 0xD48): "Cortex-X2",
    (0x41, 0xD49): "Neoverse-N2",
    (0x41, 0xD4A): "Neoverse-E1",
    (0x41, 0xD4F): "Neoverse-V2",
    (0x41, 0xD80): "Cortex-A520",
    (0x41, 0xD81): "Cortex-A720",
    (0x41, 0xD82): "Cortex-X4",
    (0x41, 0xD84): "Neoverse-V3",
    (0x41, 0xD8E): "Neoverse-N3",
    (0x46, 0x001): "A64FX",
    (0x48, 0xD01): "Kunpeng-920",
    (0x4E, 0x004): "Carmel",
    (0xC0, 0xAC3): "Ampere-1",
    (0xC0, 0xAC4): "Ampere-1a",
}


def proc_root() -> Path:
    """The folder standing in for /proc (``ENVSNAP_PROC_ROOT``, default ``/proc``)."""
    return Path(os.environ.get("ENVSNAP_PROC_ROOT") or "/proc")


def sys_root() -> Path:
    """The folder standing in for /sys (``ENVSNAP_SYS_ROOT``, default ``/sys``)."""
    return Path(os.environ.get("ENVSNAP_SYS_ROOT") or "/sys")


def _machine() -> str:
    """`platform.machine()` without importing `platform` on each start, where uname exists."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def probe(
    proc: str | os.PathLike[str] | None = None, sysfs: str | os.PathLike[str] | None = None
) -> CPU:
    """Describe this machine's CPU from *proc*/cpuinfo (py-cpuinfo only where it is absent)."""
    machine = _machine()
    path = Path(proc) / "cpuinfo" if proc is not None else proc_root() / "cpuinfo"
    if not path.exists() and not sys.platform.startswith("linux"):
        return _from_py_cpuinfo(machine)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return CPU(arch=machine)
    cpu = parse_cpuinfo(text, machine)
    if cpu.sockets is None and cpu.logical_cores:
        sockets, cores = parse_topology(_sysfs_topology(Path(sysfs) if sysfs else sys_root()))
        if sockets:
            cpu = _replace(cpu, sockets=sockets, physical_cores=cores)
    return cpu


def _replace(cpu: CPU, **changes: Any) -> CPU:
    return replace(cpu, **changes)


def _blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = [{}]
    for line in text.splitlines():
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        key, sep, value = line.partition(":")
        if sep:
            blocks[-1].setdefault(key.strip().lower(), value.strip())
    return [b for b in blocks if b]


def _int(text: str | None, base: int = 10) -> int | None:
    if text is None:
        return None
    try:
        return int(text, base)
    except ValueError:
        return None


def parse_cpuinfo(text: str, machine: str) -> CPU:
    """Pure: a `CPU` from the text of /proc/cpuinfo (x86 or Arm format) and the architecture."""
    blocks = _blocks(text)
    procs = [b for b in blocks if _int(b.get("processor")) is not None]
    if not procs:
        return CPU(arch=machine)
    first = procs[0]
    words = {f for b in procs for f in (b.get("flags") or b.get("features") or "").split()}
    flags = sorted(f for f in words if _FLAG.issuperset(f))  # split(): never empty
    sockets = {b["physical id"] for b in procs if "physical id" in b}
    cores = {
        (b["physical id"], b["core id"]) for b in procs if "physical id" in b and "core id" in b
    }
    if "cpu implementer" in first:
        vendor, model_name, family, model, stepping = _arm_identity(first)
    else:
        vendor = first.get("vendor_id", "")
        model_name = first.get("model name") or first.get("cpu", "")
        family, model = _int(first.get("cpu family")), _int(first.get("model"))
        stepping = _int(first.get("stepping"))
    return CPU(
        arch=machine,
        vendor=vendor,
        model_name=model_name,
        family=family,
        model=model,
        stepping=stepping,
        sockets=len(sockets) or None,
        physical_cores=len(cores) or None,
        logical_cores=len(procs),
        flags=tuple(flags),
    )


def _arm_identity(block: dict[str, str]) -> tuple[str, str, int | None, int | None, int | None]:
    """(vendor, model name, architecture, part, revision) of an Arm cpuinfo block."""
    implementer = _int(block.get("cpu implementer"), 16)
    part = _int(block.get("cpu part"), 16)
    vendor = _ARM_IMPLEMENTERS.get(implementer or -1, block.get("cpu implementer", ""))
    name = block.get("model name") or _ARM_PARTS.get((implementer or -1, part or -1), "")
    if not name and part is not None:
        name = f"{vendor} part {part:#05x}"
    return vendor, name, _int(block.get("cpu architecture")), part, _int(block.get("cpu revision"))


def _sysfs_topology(root: Path) -> list[tuple[str, str]]:
    pairs = []
    for topo in sorted(root.glob("devices/system/cpu/cpu[0-9]*/topology")):
        try:
            package = (topo / "physical_package_id").read_text(encoding="utf-8").strip()
            core = (topo / "core_id").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        pairs.append((package, core))
    return pairs


def parse_topology(pairs: Iterable[tuple[str, str]]) -> tuple[int | None, int | None]:
    """Pure: (sockets, physical cores) from sysfs (physical_package_id, core_id) pairs."""
    seen = set(pairs)
    if not seen:
        return None, None
    return len({p for p, _ in seen}), len(seen)


def _from_py_cpuinfo(machine: str) -> CPU:
    """Off Linux only: py-cpuinfo, imported lazily because it is slow."""
    try:
        import cpuinfo

        info: dict[str, Any] = cpuinfo.get_cpu_info()
    except Exception:  # a broken optional probe must not break capture
        return CPU(arch=machine)

    def num(key: str) -> int | None:
        value = info.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return CPU(
        arch=machine,
        vendor=str(info.get("vendor_id_raw", "")),
        model_name=str(info.get("brand_raw", "")),
        family=num("family"),
        model=num("model"),
        stepping=num("stepping"),
        logical_cores=num("count"),
        flags=tuple(sorted({str(f) for f in info.get("flags", [])})),
    )
