"""Rules on the operating system: system, machine, C library and whether locked wheels install."""

from __future__ import annotations

import re

from envsnap.findings import Finding
from envsnap.knowledge import version_tuple
from envsnap.model import Package, Snapshot

__all__ = ["RULES", "glibc_needed", "os_libc", "os_system", "wheel_platforms"]

_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MANYLINUX = r"^manylinux_(\d+)_(\d+)_"  # compiled by `re` on first use


def wheel_platforms(pkg: Package) -> tuple[str, ...]:
    """The platform tags of the wheel *pkg* was installed from (expanded), or () if unknown."""
    tags = list(pkg.wheel_tags)
    if not tags and pkg.installed_file and pkg.installed_file.endswith(".whl"):
        parts = pkg.installed_file[: -len(".whl")].split("-")
        if len(parts) >= 5:
            tags = ["-".join(parts[-3:])]
    out: set[str] = set()
    for tag in tags:
        out.update(tag.split("-")[-1].split("."))
    return tuple(sorted(out))


def glibc_needed(platform: str) -> tuple[int, int] | None:
    """The glibc a manylinux platform tag needs, or None for other platforms."""
    for legacy, version in _LEGACY.items():
        if platform.startswith(legacy + "_"):
            return version
    m = re.match(_MANYLINUX, platform)
    return (int(m.group(1)), int(m.group(2))) if m else None


def os_system(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another OS kernel family or machine architecture installs other wheels: error.

    Another distribution or release is harmless drift on its own (info).
    """
    rec, cur = recorded.environment.os, current.environment.os
    if rec.system != cur.system or rec.machine != cur.machine:
        return [
            Finding(
                "error",
                "os",
                "os.platform",
                "another OS or machine architecture: the locked wheels do not install",
                f"{rec.system} {rec.machine}",
                f"{cur.system} {cur.machine}",
                f"run on {rec.system} {rec.machine}",
            )
        ]
    found: list[Finding] = []
    rec_name = rec.pretty_name or f"{rec.distro} {rec.version}".strip()
    cur_name = cur.pretty_name or f"{cur.distro} {cur.version}".strip()
    if rec_name != cur_name:
        found.append(
            Finding(
                "info",
                "os",
                "os.distro",
                "another OS distribution or release",
                rec_name,
                cur_name,
                "",
            )
        )
    return found


def _libc_blockers(recorded: Snapshot, have: tuple[int, ...]) -> list[str]:
    blocked: list[str] = []
    for pkg in recorded.environment.packages:
        needs = [glibc_needed(p) for p in wheel_platforms(pkg)]
        known = [n for n in needs if n is not None]
        if known and len(known) == len(needs) and min(known) > have[:2]:
            need = min(known)
            blocked.append(f"{pkg.name} (glibc {need[0]}.{need[1]})")
    return blocked


def os_libc(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another C library is an error; an older glibc is an error when a locked wheel needs more.

    Otherwise a glibc change is info: the lock pins the files, so the same wheels install.
    """
    rec, cur = recorded.environment.os, current.environment.os
    if not rec.libc or not cur.libc:
        return []
    if rec.libc != cur.libc:
        return [
            Finding(
                "error",
                "os",
                "os.libc",
                "another C library: the locked wheels do not install",
                rec.libc,
                cur.libc,
                f"run on a {rec.libc} system",
            )
        ]
    if rec.libc_version == cur.libc_version:
        return []
    have = version_tuple(cur.libc_version)
    blocked = _libc_blockers(recorded, have) if rec.libc == "glibc" and have else []
    if blocked:
        return [
            Finding(
                "error",
                "os",
                "os.glibc-too-old",
                f"glibc too old for locked wheels: {', '.join(blocked[:5])}",
                f"glibc {rec.libc_version}",
                f"glibc {cur.libc_version}",
                f"use a distribution with glibc >= {rec.libc_version}",
            )
        ]
    return [
        Finding(
            "info",
            "os",
            "os.libc-version",
            f"another {rec.libc} version",
            rec.libc_version,
            cur.libc_version,
            "",
        )
    ]


RULES = (os_system, os_libc)
