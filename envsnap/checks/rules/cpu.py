"""Rules on the CPU: instruction sets the locked binaries need, SIMD level and vendor changes
under the run-time kernel dispatch of MKL, oneDNN, OpenBLAS and NumPy."""

from __future__ import annotations

import re

from envsnap import knowledge
from envsnap.findings import Finding
from envsnap.model import Environment, Snapshot

from ._common import envvars, norm
from .os import wheel_platforms

__all__ = ["RULES", "isa_missing", "required_flags", "simd_level", "simd_vendor"]

_LEVEL_IN_TAG = r"x86[_-]64[_-](v[234])"  # compiled by `re` on first use
_LOCAL_ISA = {"avx512": ("avx512f",), "avx2": ("avx2",)}


def _level_flags(level: str) -> tuple[str, ...]:
    levels = knowledge.isa_levels()
    names = sorted(levels)
    flags: list[str] = []
    for name in names[: names.index(level) + 1] if level in names else ():
        flags.extend(levels[name])
    return tuple(flags)


def required_flags(env: Environment) -> dict[str, tuple[str, ...]]:
    """What → the cpuinfo flags it needs, where knowable: x86-64-vN wheel tags, AVX builds named
    in local versions or conda build strings, conda's micro-architecture level, known packages."""
    needs: dict[str, tuple[str, ...]] = {}
    for pkg in env.packages:
        what = f"{pkg.name} {pkg.version}"
        for plat in wheel_platforms(pkg):
            m = re.search(_LEVEL_IN_TAG, plat)
            if m:
                needs[what] = _level_flags(f"x86-64-{m.group(1)}")
        local = pkg.version.partition("+")[2].lower()
        for key, flags in _LOCAL_ISA.items():
            if key in local:
                needs[what] = flags
        known = knowledge.isa_requirements(norm(pkg.name), pkg.version)
        if known:
            needs[what] = tuple(sorted(set(needs.get(what, ())) | set(known)))
    for cpkg in env.conda.packages if env.conda else ():
        what = f"{cpkg.name} {cpkg.version} {cpkg.build}"
        if cpkg.name == "_x86_64-microarch-level" and cpkg.version.isdigit():
            needs[what] = _level_flags(f"x86-64-v{cpkg.version}")
        for key, flags in _LOCAL_ISA.items():
            if key in cpkg.build.lower():
                needs[what] = flags
    return needs


def isa_missing(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """A locked binary built for an instruction set this CPU lacks dies with SIGILL: error."""
    hw = current.hardware
    if hw is None or not hw.cpu.flags or hw.cpu.arch not in ("x86_64", "amd64", "AMD64"):
        return []
    have = set(hw.cpu.flags)
    found: list[Finding] = []
    for what, flags in sorted(required_flags(recorded.environment).items()):
        missing = sorted(set(flags) - have)
        if missing:
            found.append(
                Finding(
                    "error",
                    "cpu",
                    "cpu.isa-missing",
                    f"{what} is built for instructions this CPU lacks (illegal "
                    "instruction at import)",
                    " ".join(sorted(set(flags))),
                    "missing " + " ".join(missing),
                    f"run on a CPU with {' '.join(missing)}, or install a baseline "
                    f"build of {what.split()[0]}",
                )
            )
    return found


def simd_level(flags: tuple[str, ...]) -> str:
    """The best SIMD dispatch level named by cpuinfo *flags* (AVX-512, AVX2, SVE, NEON, ...)."""
    have = set(flags)
    for name, flag in knowledge.simd_levels():
        if flag in have:
            return name
    return "baseline"


def _dispatch_remedy(recorded: Snapshot, current: Snapshot) -> tuple[str, bool]:
    """The variables that pin BLAS dispatch, and whether all of them are already set as recorded."""
    names = {b.name for b in current.environment.blas} | {b.name for b in recorded.environment.blas}
    pins = sorted({p for p in (knowledge.dispatch_remedy(n) for n in names) if p})
    if not pins:
        pins = [("MKL_CBWR", "AVX2"), ("OPENBLAS_CORETYPE", "Haswell")]
    rec_vars, cur_vars = envvars(recorded.environment), envvars(current.environment)
    pinned = all(rec_vars.get(v) == val == cur_vars.get(v) for v, val in pins)
    return "export " + " ".join(f"{v}={val}" for v, val in pins), pinned


def simd_vendor(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another SIMD level or vendor: runtime-dispatched kernels (MKL, oneDNN, OpenBLAS, NumPy)
    sum in another order (warning; info when the dispatch is pinned by variables on both).
    Never an error: dispatch picks what this CPU has (`isa_missing` covers builds that cannot)."""
    if recorded.hardware is None or current.hardware is None:
        return []
    rec, cur = recorded.hardware.cpu, current.hardware.cpu
    remedy, pinned = _dispatch_remedy(recorded, current)
    severity = "info" if pinned else "warning"
    found: list[Finding] = []
    rec_simd, cur_simd = simd_level(rec.flags), simd_level(cur.flags)
    if rec.flags and cur.flags and rec_simd != cur_simd:
        found.append(
            Finding(
                severity,
                "cpu",
                "cpu.simd",
                f"another SIMD level ({rec_simd} → {cur_simd}): BLAS and oneDNN "
                "dispatch other kernels",
                rec_simd,
                cur_simd,
                remedy,
            )
        )
    if rec.vendor and cur.vendor and rec.vendor != cur.vendor:
        found.append(
            Finding(
                severity,
                "cpu",
                "cpu.vendor",
                "another CPU vendor: MKL and oneDNN choose code paths by vendor",
                rec.vendor,
                cur.vendor,
                remedy,
            )
        )
    elif rec.model_name and cur.model_name and rec.model_name != cur.model_name and not found:
        found.append(
            Finding(
                "info", "cpu", "cpu.model", "another CPU model", rec.model_name, cur.model_name, ""
            )
        )
    return found


RULES = (isa_missing, simd_vendor)
