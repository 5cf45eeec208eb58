"""The facts behind `envsnap check`, loaded once from the sourced TOML files in this package.

Each `*.toml` file holds tables of entries, and every entry names its public `source` (NVIDIA's
CUDA release notes, the frameworks' reproducibility docs). The accessors here are pure look-ups.
"""

from __future__ import annotations

import functools
from pathlib import Path

from envsnap._record import Record, record

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "FILES",
    "MinorCompat",
    "arch_name",
    "compat_floor",
    "compute_capability",
    "cuda_for_driver",
    "determinism_settings",
    "dispatch_remedy",
    "isa_levels",
    "isa_requirements",
    "load",
    "min_driver",
    "simd_levels",
    "supports_tf32",
    "tf32_defaults",
    "tf32_overrides",
    "torch_arch_list",
    "version_tuple",
]

HERE = Path(__file__).resolve().parent
FILES = ("cpu", "determinism", "drivers", "frameworks", "gpus", "tf32")


def version_tuple(text: str) -> tuple[int, ...]:
    """Return the leading numeric components of a dotted version: ``"535.104.05"`` → (535, 104, 5).

    Parsing stops at the first non-numeric component (``"2.8.0+cu128"`` → (2, 8, 0)).
    """
    out: list[int] = []
    for part in text.strip().split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        out.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(out)


@functools.cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed knowledge file *name* (without ``.toml``).

    The parsed tables are kept as JSON in the user cache dir (`envsnap._cache`), keyed by
    envsnap's version and the file's size and mtime, so that `envsnap check` does not import a
    TOML parser at every start.
    """
    from envsnap import __version__, _cache
    from envsnap._io import cache_home, cache_key

    path = HERE / f"{name}.toml"
    st = path.stat()
    ident = f"{name}\0{__version__}\0{st.st_size}\0{st.st_mtime_ns}"
    entry = _cache.entry(cache_home() / "knowledge", cache_key(ident.encode()))
    data = _cache.load(entry)
    if isinstance(data, dict):
        return data
    data = _parse(path)
    _cache.store(entry, data)
    return data


def _parse(path: Path) -> dict[str, Any]:
    from envsnap.formats.capture import toml_table  # the in door's TOML reader

    return toml_table(path.read_text(encoding="utf-8"), str(path))


_COMPARE = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def _release(text: str) -> tuple[int, ...] | None:
    """The release of a plain version (``2.8.0``, ``2.8.0+cu128``) without trailing zeros.

    None for anything else (epochs, pre/post/dev releases, a ``v`` prefix): `packaging` decides.
    """
    head, _, local = text.strip().partition("+")
    parts = head.split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None
    segments = local.replace("-", ".").replace("_", ".").split(".") if local else []
    if not all(seg.isascii() and seg.isalnum() for seg in segments):
        return None
    numbers = [int(p) for p in parts]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _simple_in_range(version: str, spec: str) -> bool | None:
    """`_in_range` for a plain version and ``>=2.1,<2.6``-style clauses, else None.

    The knowledge files use only these, and so does nearly every installed framework: this
    spares a check the import of `packaging.specifiers` (and its regular expressions).
    """
    have = _release(version)
    if have is None:
        return None
    for raw in spec.split(","):
        clause = raw.strip()
        op = clause[:2] if clause[:2] in _COMPARE else clause[:1]
        want = _release(clause[len(op) :]) if op in _COMPARE else None
        if want is None or "+" in clause:
            return None
        if not _COMPARE[op](have, want):
            return False
    return True


def _in_range(version: str, spec: str | None) -> bool:
    if not spec:
        return True
    simple = _simple_in_range(version, spec)
    if simple is not None:
        return simple
    # packaging is imported for other versions or specifiers only: most checks never need it.
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        # Local labels (+cu128) and pre-releases still belong to their release line.
        v = Version(version)
        return SpecifierSet(spec).contains(Version(v.base_version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


# --- drivers --------------------------------------------------------------------------------


@record
class MinorCompat(Record):
    """CUDA minor-version compatibility of one major version: the driver floor and what it loses."""

    major: int
    floor: str
    lost: str
    source: str


def _major_minor(cuda: str) -> tuple[int, int] | None:
    parts = version_tuple(cuda)
    if not parts:
        return None
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def min_driver(cuda: str) -> str | None:
    """The minimum Linux driver for CUDA *cuda* (major.minor), or None when unknown."""
    want = _major_minor(cuda)
    for entry in load("drivers")["cuda"]:
        if _major_minor(entry["version"]) == want:
            return str(entry["min-driver"])
    return None


def compat_floor(major: int) -> MinorCompat | None:
    """The minor-version compatibility floor for CUDA *major*, or None."""
    for entry in load("drivers")["minor-compat"]:
        if entry["major"] == major:
            return MinorCompat(major, entry["floor"], entry["lost"], entry["source"])
    return None


def cuda_for_driver(driver: str) -> str | None:
    """The newest CUDA version whose minimum driver is at or below *driver*, or None."""
    have = version_tuple(driver)
    best: str | None = None
    for entry in load("drivers")["cuda"]:
        newer = best is None or version_tuple(entry["version"]) > version_tuple(best)
        if newer and version_tuple(entry["min-driver"]) <= have:
            best = str(entry["version"])
    return best


# --- GPUs -----------------------------------------------------------------------------------


def compute_capability(name: str) -> str | None:
    """The compute capability of the GPU model *name* (an NVML product name), or None."""
    upper = name.upper()
    best: tuple[int, str] | None = None
    for entry in load("gpus")["gpu"]:
        for pattern in entry["match"]:
            if pattern.upper() in upper and (best is None or len(pattern) > best[0]):
                best = (len(pattern), str(entry["cc"]))
    return best[1] if best else None


def _arch_entry(cc: str) -> dict[str, Any] | None:
    want = _major_minor(cc)
    for entry in load("gpus")["arch"]:
        if any(_major_minor(c) == want for c in entry["cc"]):
            return dict(entry)
    return None


def arch_name(cc: str) -> str | None:
    """The architecture (generation) name of compute capability *cc*, or None."""
    entry = _arch_entry(cc)
    return str(entry["name"]) if entry else None


def supports_tf32(cc: str) -> bool:
    """True when compute capability *cc* has TF32 tensor cores (Ampere, 8.0, and later)."""
    entry = _arch_entry(cc)
    if entry is not None:
        return bool(entry["tf32"])
    mm = _major_minor(cc)
    return mm is not None and mm >= (8, 0)


# --- frameworks -----------------------------------------------------------------------------


def torch_arch_list(version: str, cuda: str) -> tuple[str, ...]:
    """The arch list of the official torch *version* wheel built for CUDA *cuda*, or ()."""
    want = _major_minor(cuda)
    for entry in load("frameworks")["torch"]:
        if _in_range(version, entry["versions"]) and any(
            _major_minor(c) == want for c in entry["cuda"]
        ):
            return tuple(entry["arch"])
    return ()


def determinism_settings(framework: str, version: str) -> tuple[dict[str, Any], ...]:
    """The settings that make *framework* at *version* deterministic (see determinism.toml)."""
    return tuple(
        dict(s)
        for s in load("determinism")["setting"]
        if s["framework"] == framework and _in_range(version, s.get("versions"))
    )


def tf32_defaults(framework: str, version: str) -> dict[str, bool]:
    """Op → whether *framework* at *version* uses TF32 by default on Ampere and later."""
    return {
        d["op"]: bool(d["tf32"])
        for d in load("tf32")["default"]
        if d["framework"] == framework and _in_range(version, d["versions"])
    }


def tf32_overrides() -> tuple[dict[str, Any], ...]:
    """Environment variables that force TF32 on or off (see tf32.toml)."""
    return tuple(dict(o) for o in load("tf32")["override"])


# --- CPU ------------------------------------------------------------------------------------


def isa_levels() -> dict[str, tuple[str, ...]]:
    """x86-64 micro-architecture level name → the cpuinfo flags it needs."""
    return {lv["name"]: tuple(lv["flags"]) for lv in load("cpu")["level"]}


def isa_requirements(package: str, version: str) -> tuple[str, ...]:
    """The cpuinfo flags that the official x86_64 build of *package* *version* needs."""
    flags: list[str] = []
    for req in load("cpu")["requires"]:
        if req["package"] == package and _in_range(version, req["versions"]):
            flags.extend(req["flags"])
    return tuple(flags)


def simd_levels() -> tuple[tuple[str, str], ...]:
    """(name, flag) of the SIMD dispatch levels, best first."""
    return tuple((s["name"], s["flag"]) for s in load("cpu")["simd"])


def dispatch_remedy(blas: str) -> tuple[str, str] | None:
    """(variable, value) that pins the kernel dispatch of BLAS *blas*, or None."""
    low = blas.lower()
    for entry in load("cpu")["dispatch"]:
        if entry["blas"] in low:
            return (str(entry["var"]), str(entry["value"]))
    return None
