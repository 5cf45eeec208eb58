"""The BLAS each numeric library was built with, read from files (numpy is never imported).

numpy and scipy (meson builds) write their build configuration into `<pkg>/__config__.py` as a
dict literal; torch writes `include/ATen/Config.h`. Bundled libraries (`numpy.libs/`,
`torch/lib/`) are recorded as evidence of what is actually loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from envsnap.model import BlasInfo, Package
from envsnap.probes._filecache import cached

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    import ast
    from typing import Any

__all__ = ["parse_aten_config", "parse_numpy_config", "probe"]

_CONFIG_OWNERS = ("numpy", "scipy")
# Patterns as text, compiled by `re` on first use (this probe is imported on the `check` path).
_BLAS_LIB = r"^lib(mkl|openblas|scipy_openblas|blas|cblas|gomp|iomp|omp|nvpl|flexiblas)"
_ATEN_FLAG = r"(?m)^\s*#\s*define\s+(AT_\w+)(?:\(\))?\s+([01])\b"


def _literal(node: ast.AST) -> Any:
    """A literal value, or None for expressions a build config computes at import time."""
    import ast

    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, ast.Constant):
        return node.value
    # `bool("True".lower().replace("false", ""))` is how meson spells booleans
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "bool":
        const = next((n for n in ast.walk(node) if isinstance(n, ast.Constant)), None)
        return bool(const and str(const.value).lower() == "true")
    return None


def _config_dict(text: str) -> Mapping[str, Any] | None:
    import ast  # only when a numpy/scipy build config is there to read

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "CONFIG" for t in node.targets
        ):
            value = node.value
            if isinstance(value, ast.Call) and value.args:  # CONFIG = _cleanup({...})
                value = value.args[0]
            data = _literal(value)
            return data if isinstance(data, dict) else None
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def parse_numpy_config(owner: str, text: str) -> tuple[BlasInfo, ...]:
    """BLAS (and LAPACK when it differs) from a meson-built `__config__.py` (pure)."""
    config = _config_dict(text)
    if config is None:
        return _parse_distutils_config(owner, text)
    deps = config.get("Build Dependencies")
    if not isinstance(deps, dict):
        return ()
    out: list[BlasInfo] = []
    for kind in ("blas", "lapack"):
        dep = deps.get(kind)
        if not isinstance(dep, dict) or not dep.get("name"):
            continue
        detail = _one_line(str(dep.get("openblas configuration") or ""))
        info = BlasInfo(
            owner=owner if kind == "blas" else f"{owner} (lapack)",
            name=str(dep["name"]),
            version=str(dep.get("version") or ""),
            detail=detail,
        )
        if kind == "lapack" and out and (info.name, info.version) == (out[0].name, out[0].version):
            continue
        out.append(info)
    return tuple(out)


def _parse_distutils_config(owner: str, text: str) -> tuple[BlasInfo, ...]:
    # numpy < 1.26 (distutils): `blas_opt_info = {'libraries': ['openblas', 'openblas'], ...}`
    m = re.search(r"^blas_opt_info\s*=\s*(\{.*\})\s*$", text, re.MULTILINE)
    if not m:
        return ()
    import ast

    try:
        data = ast.literal_eval(m.group(1))
    except (SyntaxError, ValueError):
        return ()
    libs = data.get("libraries") if isinstance(data, dict) else None
    if not libs:
        return ()
    return (BlasInfo(owner=owner, name=str(libs[0]), detail="distutils build config"),)


def parse_aten_config(text: str) -> dict[str, bool]:
    """The ``#define AT_X() 0/1`` switches of torch's `ATen/Config.h` (pure)."""
    return {name: value == "1" for name, value in re.findall(_ATEN_FLAG, text)}


def _bundled(folder: Path) -> list[str]:
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return []
    return [n for n in names if re.match(_BLAS_LIB, n) and (".so" in n or n.endswith(".dylib"))]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _rows(data: object) -> bool:
    return isinstance(data, list) and all(
        isinstance(row, list) and len(row) == 4 and all(isinstance(v, str) for v in row)
        for row in data
    )


def _parsed_config(path: Path, owner: str) -> tuple[BlasInfo, ...] | None:
    """`parse_numpy_config` of *path*, cached by (path, size, mtime); None when unreadable."""

    def parse(p: Path) -> list[list[str]]:
        text = _read(p)
        if text is None:
            raise FileNotFoundError(p)
        return [[i.owner, i.name, i.version, i.detail] for i in parse_numpy_config(owner, text)]

    try:
        rows = cached("blas-config", path, parse, _rows)
    except OSError:
        return None
    return tuple(BlasInfo(*row) for row in rows)


def _config_owner(site: Path, owner: str) -> tuple[BlasInfo, ...]:
    infos = _parsed_config(site / owner / "__config__.py", owner)
    if infos is None:
        return ()
    if not infos:
        return (BlasInfo(owner=owner, name="unknown", detail="no BLAS in __config__.py"),)
    libs = _bundled(site / f"{owner}.libs")
    if libs:
        first = infos[0]
        extra = f"bundled {owner}.libs/{', '.join(libs)}"
        detail = f"{first.detail}; {extra}" if first.detail else extra
        infos = (BlasInfo(first.owner, first.name, first.version, detail), *infos[1:])
    return infos


def _torch(site: Path) -> tuple[BlasInfo, ...]:
    text = _read(site / "torch" / "include" / "ATen" / "Config.h")
    libs = _bundled(site / "torch" / "lib")
    if text is None and not libs:
        return ()
    flags = parse_aten_config(text or "")
    lib_names = " ".join(libs)
    if flags.get("AT_MKL_ENABLED") or "libmkl" in lib_names:
        name = "mkl"
    elif "openblas" in lib_names:
        name = "openblas"
    elif "nvpl" in lib_names:
        name = "nvpl"
    elif flags.get("AT_BUILD_WITH_BLAS"):
        name = "system-blas"
    else:
        name = "none"
    parts = [f"{k[3:].removesuffix('_ENABLED').lower()}" for k, v in sorted(flags.items()) if v]
    detail = "ATen: " + ", ".join(parts) if parts else ""
    if libs:
        detail = f"{detail}; bundled torch/lib/{', '.join(libs)}".lstrip("; ")
    if name == "mkl" and "libmkl" not in lib_names:
        detail = f"{detail}; MKL statically linked".lstrip("; ")
    return (BlasInfo(owner="torch", name=name, detail=detail),)


def probe(packages: Sequence[Package], site_dirs: Sequence[str]) -> tuple[BlasInfo, ...]:
    """Return the BLAS of numpy, scipy and torch found in *site_dirs*, sorted by owner.

    *packages* is accepted for the orchestrator's uniform signature; files are looked up in
    the site folders directly, so a conda-installed numpy (not a pip package) is still seen.
    """
    del packages
    found: dict[str, tuple[BlasInfo, ...]] = {}
    for site_dir in site_dirs:
        site = Path(site_dir)
        for owner in _CONFIG_OWNERS:
            if owner not in found:
                infos = _config_owner(site, owner)
                if infos:
                    found[owner] = infos
        if "torch" not in found:
            infos = _torch(site)
            if infos:
                found["torch"] = infos
    return tuple(sorted((i for infos in found.values() for i in infos), key=_sort_key))


def _sort_key(info: BlasInfo) -> tuple[str, str]:
    return (info.owner, info.name)
