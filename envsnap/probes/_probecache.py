"""A cache of the interpreter probe's answers: a repeated capture does not start the target
again, and a repeated check does not collect its own interpreter's facts again.

Starting a second interpreter is a large share of a whole capture; collecting the running one's
facts imports `platform` and `sysconfig`, a large share of a whole check. The facts a
probe prints depend on the interpreter binary, its venv, a few environment variables and the
site folders (``.pth`` files add folders), so an answer is kept in
``$ENVSNAP_CACHE_DIR/targets`` (else ``$XDG_CACHE_HOME/envsnap/targets``, ~/.cache) under a key
made of the path as given, the binary's realpath and (mtime, size, inode), both pyvenv.cfg
candidates, the ``PYTHON*`` variables, HOME, the C library version, the kernel and the probe
script itself; it is used only while every site folder, ``.pth`` file, prefix and user-site
folder still has the stamp it had. Only native executables are cached: a shell wrapper (a
pyenv shim) may pick another Python by the current folder. Any cache trouble means a fresh probe.
The entries follow `envsnap._cache`'s rules (the key's text is not in them: it holds PYTHON*
variables and HOME, and a cache holds nothing a capture may not). The running interpreter's key
adds what its own start decided (`_running`): ``sys.path``, its prefixes and whether the user
site is on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import _cache
from .._io import cache_key

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["cache_dir", "cached"]

VERSION = 4  # 3: entries follow envsnap._cache (the file name is the key's digest); 4: repr key
_NATIVE = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"MZ")
_ENV = ("HOME", "USERPROFILE", "APPDATA", "VIRTUAL_ENV", "CONDA_PREFIX")


def cache_dir() -> Path:
    """``<cache home>/targets`` (`envsnap._io.cache_home`)."""
    from .._io import cache_home

    return cache_home() / "targets"


def cached(
    python: str, probe: Callable[[], dict[str, Any]], *, running: bool = False
) -> dict[str, Any]:
    """The facts of the interpreter at path *python*: from the cache, else ``probe()`` (stored).

    With *running*, *python* is this process's interpreter (``sys.executable``) and ``probe()``
    collects its facts in-process.
    """
    key = _key(python, running=running)
    if key is None:
        return probe()
    path = _cache.entry(cache_dir(), cache_key(key.encode()))
    facts = _load(path)
    if facts is None:
        facts = probe()
        _cache.store(path, {"facts": facts, "stamps": {p: _stamp(p) for p in _watched(facts)}})
    return facts


def _stamp(path: str) -> list[int] | None:
    try:
        st = os.stat(path)  # noqa: PTH116 (hot path: no Path objects)
    except (OSError, ValueError):
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _native(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4).startswith(_NATIVE)
    except OSError:
        return False


def _running() -> list[Any]:
    """What the running interpreter's facts depend on beyond its binary and the environment:
    its search path as it started (``-I``, ``-s``, ``PYTHONPATH``, a program's own changes),
    its prefixes and whether `site` turned the user site on."""
    site = sys.modules.get("site")
    user_site = getattr(site, "ENABLE_USER_SITE", None)
    return ["running", list(sys.path), sys.prefix, sys.base_prefix, repr(user_site)]


def _key(python: str, *, running: bool = False) -> str | None:
    given = os.path.abspath(python)  # noqa: PTH100 (a venv's bin/python: keep the symlink)
    real = os.path.realpath(given)
    if not _native(real):
        return None
    here = os.path.dirname(given)  # noqa: PTH120
    script = Path(__file__).with_name("_target_script.py")
    uname = os.uname() if hasattr(os, "uname") else ()
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        libc = ""
    env = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(("PYTHON", "_PYTHON")) or k in _ENV
    )
    material = [
        VERSION,
        given,
        real,
        _stamp(real),
        _stamp(os.path.join(here, "pyvenv.cfg")),  # noqa: PTH118
        _stamp(os.path.join(os.path.dirname(here), "pyvenv.cfg")),  # noqa: PTH118, PTH120
        _stamp(str(script)),
        env,
        libc,
        list(uname),
    ]
    if running:
        material.append(_running())
    # repr, not json.dumps: lists, tuples, strings, numbers and None, each written one way; json
    # is not imported on the paths that read this cache
    return repr(material)


def _watched(facts: dict[str, Any]) -> list[str]:
    """The paths whose stamps must not change for *facts* to hold."""
    sites = [str(s) for s in facts.get("site_dirs", [])]
    paths = [str(facts.get("prefix", "")), str(facts.get("base_prefix", "")), *sites]
    for site in sites:
        paths.extend(_pth_files(site))
    home = os.environ.get("PYTHONUSERBASE") or os.path.expanduser("~/.local")  # noqa: PTH111
    major_minor = ".".join(str(facts.get("version", "")).split(".")[:2])
    user = os.path.join(home, "lib")  # noqa: PTH118
    paths += [home, user, os.path.join(user, f"python{major_minor}")]  # noqa: PTH118
    return paths


def _watched_or_none(facts: dict[str, Any]) -> list[str] | None:
    try:
        return _watched(facts)
    except (TypeError, ValueError):  # a damaged entry: probe again
        return None


def _pth_files(site: str) -> Iterable[str]:
    try:
        return sorted(e.path for e in os.scandir(site) if e.name.endswith(".pth"))
    except OSError:
        return []


def _load(path: Path) -> dict[str, Any] | None:
    entry = _cache.load(path)
    if not isinstance(entry, dict):
        return None
    facts, stamps = entry.get("facts"), entry.get("stamps")
    if not isinstance(facts, dict) or not isinstance(stamps, dict):
        return None
    watched = _watched_or_none(facts)
    if watched is None or set(stamps) != set(watched):
        return None  # a .pth file came or went
    if any(stamps[p] != _stamp(p) for p in watched):
        return None
    return facts
