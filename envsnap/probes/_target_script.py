"""Facts about an interpreter, printed as JSON: run inside the *target* Python.

Standard library only and old-Python friendly (the target may lack `packaging`, or be an older
CPython): `target.probe` runs this file's text with ``PYTHON -c`` for ``--python PATH`` and calls
`collect()` in-process for the running interpreter, so both paths share one implementation.
"""

from __future__ import annotations

import json
import os
import platform
import site
import sys
import sysconfig
from pathlib import Path

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["collect", "site_dirs"]


def _norm(path: str) -> str:
    # Path.absolute() keeps symlinks, as site.makepath's os.path.abspath does (no resolve()).
    return os.path.normcase(os.path.normpath(Path(path).absolute()))


def _pth_dirs(sitedir: str) -> list[str]:
    """Directories that the ``*.pth`` files of *sitedir* add to sys.path (as `site` does)."""
    try:
        pth_files = sorted(p for p in Path(sitedir).iterdir() if p.name.endswith(".pth"))
    except OSError:
        return []
    found = []
    for pth in pth_files:
        try:
            lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if not line.strip() or line.startswith(("#", "import ", "import\t")):
                continue
            path = Path(sitedir, line.rstrip())
            if path.is_dir():
                found.append(str(path))
    return found


def site_dirs() -> list[str]:
    """The sys.path entries that hold installed distributions, in sys.path order.

    purelib, platlib, the site-packages folders `site` adds, the user site when enabled, and the
    folders named by their ``.pth`` files; never the standard library or the current folder.
    """
    paths = sysconfig.get_paths()
    roots = [paths.get("purelib", ""), paths.get("platlib", "")]
    if hasattr(site, "getsitepackages"):  # missing in old virtualenv's site.py
        roots.extend(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        roots.append(site.getusersitepackages())
    roots = [r for r in roots if r and Path(r).is_dir()]
    wanted = {_norm(r) for r in roots}
    for root in roots:
        wanted.update(_norm(p) for p in _pth_dirs(root))
    wanted -= {_norm(paths.get("stdlib", "")), _norm(paths.get("platstdlib", ""))}
    out: list[str] = []
    seen: set[str] = set()
    for entry in sys.path:
        key = _norm(entry) if entry else ""
        if key in wanted and key not in seen:
            seen.add(key)
            out.append(os.path.normpath(Path(entry).absolute()))
    return out


def _glibc() -> str:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        return ""


def _musl() -> str:
    """The musl version ("1.2") from running the musl dynamic loader, or ""."""
    import re
    import subprocess  # only on musl systems: keeps the common path import-light

    for loader in sorted(Path("/lib").glob("ld-musl-*.so.1")):
        try:
            proc = subprocess.run(
                [str(loader)], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        match = re.search(r"Version\s+(\d+)\.(\d+)", proc.stderr)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    return ""


def collect() -> dict[str, Any]:
    """Return the interpreter's facts as a JSON-ready dict."""
    system = platform.system()
    glibc = _glibc() if system == "Linux" else ""
    return {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix)),
        "site_dirs": site_dirs(),
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:2]),
        "build": list(platform.python_build()),
        "compiler": platform.python_compiler(),
        "soabi": sysconfig.get_config_var("SOABI") or "",
        "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX") or "",
        "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "platform": sysconfig.get_platform(),
        "system": system,
        "machine": platform.machine(),
        "is_64bit": sys.maxsize > 2**32,
        "glibc": glibc,
        "musl": _musl() if system == "Linux" and not glibc else "",
        "mac_ver": platform.mac_ver()[0] if system == "Darwin" else "",
    }


if __name__ == "__main__":
    print(json.dumps(collect()))
