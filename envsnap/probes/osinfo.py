"""The operating system: distro (/etc/os-release), C library, kernel, container runtime.

`probe(root=...)` reads files under *root* (default ``/``) so tests can feed recorded trees;
`parse_os_release` and `detect_container` are pure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ..model import OSInfo

__all__ = ["detect_container", "parse_os_release", "probe"]

# /proc/1/cgroup words that betray a container runtime, checked in this order.
_CGROUP_HINTS = (
    ("kubepods", "kubernetes"),
    ("libpod", "podman"),
    ("docker", "docker"),
    ("containerd", "containerd"),
    ("lxc", "lxc"),
)


def probe(root: str | os.PathLike[str] = "/", environ: Mapping[str, str] | None = None) -> OSInfo:
    """Describe the running OS; unreadable files leave their fields empty."""
    base = Path(root)
    release = parse_os_release(_read(base / "etc/os-release") or _read(base / "usr/lib/os-release"))
    libc, libc_version = _libc(base)
    uname = _uname()
    return OSInfo(
        system=uname[0],
        machine=uname[4],
        distro=release.get("ID", ""),
        version=release.get("VERSION_ID", ""),
        codename=release.get("VERSION_CODENAME", ""),
        pretty_name=release.get("PRETTY_NAME", ""),
        libc=libc,
        libc_version=libc_version,
        kernel=uname[2],
        container=detect_container(
            base, os.environ if environ is None else environ, _read(base / "proc/1/cgroup")
        ),
    )


def _uname() -> tuple[str, str, str, str, str]:
    """(system, node, release, version, machine), as `platform.uname()` gives them.

    `os.uname()` where it exists: `platform` is not imported on every capture.
    """
    if hasattr(os, "uname") and sys.platform != "win32":
        u = os.uname()
        return (u.sysname, u.nodename, u.release, u.version, u.machine)
    import platform

    p = platform.uname()
    return (p.system, p.node, p.release, p.version, p.machine)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def parse_os_release(text: str) -> dict[str, str]:
    """Pure: the KEY=value pairs of an os-release file, shell quoting removed."""
    out: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        out[key.strip()] = _unquote(raw)
    return out


def _unquote(raw: str) -> str:
    """*raw* as `shlex.split` reads it, its words joined by one space. A plain word or one quoted
    string without escapes (every os-release seen) is read here: `shlex` is imported, and reads
    character by character, only for anything else."""
    inner = raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"' and not any(c in inner for c in '"\\'):
        return inner
    if len(raw) >= 2 and raw[0] == raw[-1] == "'" and "'" not in inner:
        return inner
    if not any(c in raw for c in "\"'\\") and not any(c.isspace() for c in raw):
        return raw
    import shlex

    try:
        words = shlex.split(raw)
    except ValueError:  # unbalanced quotes in a hand-edited file
        words = [raw.strip("\"'")]
    return " ".join(words)


def _libc(root: Path) -> tuple[str, str]:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        text = ""
    if text.startswith("glibc "):
        return "glibc", text.split()[-1]
    if any(root.glob("lib/ld-musl-*.so.1")):
        return "musl", _musl_version(root)
    return "", ""


def _musl_version(root: Path) -> str:
    from .. import _subprocess

    for loader in sorted(root.glob("lib/ld-musl-*.so.1")):
        done = _subprocess.run([str(loader)], timeout=5)
        for line in done.stderr.splitlines():
            if line.startswith("Version "):
                return line.split()[1]
    return ""


def detect_container(root: Path, environ: Mapping[str, str], cgroup: str) -> str | None:
    """Pure but for two marker-file checks: the container runtime's name, or None."""
    if (root / ".dockerenv").exists():
        return "docker"
    if (root / "run/.containerenv").exists():
        return "podman"
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    for word, name in _CGROUP_HINTS:
        if word in cgroup:
            return name
    runtime = environ.get("container", "")  # set by podman, systemd-nspawn, lxc
    return runtime or None
