"""The facts of a reproducibility report, read from a capture directory (no probe, no network).

`gather` reads pylock.toml (required), hardware.toml, image.toml, project.toml, numerics.toml
and repro.toml where present and returns one JSON-ready dict (`envsnap report --json`); the
Markdown renderer reads only that dict. The derivations are pure functions of the models:
`hardware_needed` rounds RAM to the size a reader would buy and names the x86-64 level.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envsnap.model import PIN_REASONS, Environment, Hardware, Package, Snapshot

if TYPE_CHECKING:
    from envsnap.formats.capture import Capture
    from envsnap.formats.image import ImageRecord
    from envsnap.formats.numerics import Numerics
    from envsnap.formats.project import ProjectState
    from envsnap.formats.repro import ReproRecord

__all__ = [
    "FACTS_VERSION",
    "IMAGE_CHECK",
    "cpu_level",
    "gather",
    "hardware_needed",
    "ram_size",
]

FACTS_VERSION = 1
# What the image built by `envsnap rebuild` runs to check itself against its capture.
IMAGE_CHECK = ("envsnap", "check", "/envsnap", "--python", "/opt/venv/bin/python")
_GIB = 1024**3
_GPU_FLAGS = ("--gpus", "all")
# A machine's usable RAM is a few percent below the size of its DIMMs (firmware, kernel).
_RAM_SLACK = 1.07
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "graalpy": "GraalPy"}


def ram_size(total_bytes: int) -> int:
    """The RAM size in GiB a reader would buy: the largest of 1, 2, 3, 4, 6, 8, 12, 16, 24…
    (powers of two and 1.5 times them) not above the usable RAM plus a few percent."""
    usable = total_bytes / _GIB * _RAM_SLACK
    best = 1
    size = 1
    while size <= usable:
        best = size
        half = size // 2
        if half and size + half <= usable:
            best = size + half
        size *= 2
    return best


def _ram_text(gib: int) -> str:
    return f"{gib // 1024} TiB" if gib >= 1024 and gib % 1024 == 0 else f"{gib} GiB"


def cpu_level(arch: str, flags: tuple[str, ...]) -> str:
    """``x86-64-vN`` (the highest micro-architecture level all of whose flags are present),
    ``x86-64`` for the baseline, else the architecture as recorded (aarch64…)."""
    from envsnap import knowledge

    if arch not in ("x86_64", "amd64", "AMD64"):
        return arch or "unknown"
    have = set(flags)
    best = "x86-64"
    for name, needed in sorted(knowledge.isa_levels().items()):
        if not set(needed) <= have:
            break
        best = name
    return best


def _gpu_groups(hw: Hardware) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int], int] = {}
    for gpu in hw.gpus.devices:
        key = (gpu.name, gpu.compute_capability, gpu.memory_total_bytes)
        groups[key] = groups.get(key, 0) + 1
    return [
        {
            "name": name,
            "count": count,
            "compute_capability": cc,
            "memory_gib": round(memory / _GIB, 1),
        }
        for (name, cc, memory), count in sorted(groups.items())
    ]


def hardware_needed(hw: Hardware | None) -> dict[str, Any]:
    """The hardware a run needs, as the capture saw it, with a one-line ``summary`` such as
    "2 (times sign) NVIDIA A100-SXM4-80GB (compute capability 8.0), NVIDIA driver ≥ 535
    (CUDA 12.2), ≥ 64 GiB RAM, x86-64-v4 CPU"."""
    if hw is None:
        return {"captured": False, "summary": "not captured (no hardware.toml)"}
    groups = _gpu_groups(hw)
    parts = [
        f"{g['count']} \u00d7 {g['name']}"
        + (f" (compute capability {g['compute_capability']})" if g["compute_capability"] else "")
        for g in groups
    ]
    driver = hw.gpus.driver_version or ""
    major = driver.split(".")[0] if driver[:1].isdigit() else ""
    if groups and major:
        cuda = f" (CUDA {hw.gpus.cuda_driver_version})" if hw.gpus.cuda_driver_version else ""
        parts.append(f"NVIDIA driver \u2265 {major}{cuda}")
    if not groups:
        parts.append("no GPU" if hw.gpus.status != "unavailable" else "GPUs not read (NVML)")
    ram = ram_size(hw.memory.total_bytes) if hw.memory.total_bytes else 0
    if ram:
        parts.append(f"\u2265 {_ram_text(ram)} RAM")
    level = cpu_level(hw.cpu.arch, hw.cpu.flags)
    parts.append(f"{level} CPU")
    return {
        "captured": True,
        "summary": ", ".join(parts),
        "gpus": groups,
        "gpu_status": hw.gpus.status,
        "driver_major": major,
        "cuda_driver": hw.gpus.cuda_driver_version or "",
        "ram_gib": ram,
        "cpu": {
            "level": level,
            "model": hw.cpu.model_name,
            "logical_cores": hw.cpu.logical_cores,
        },
    }


def _not_pinned(env: Environment) -> list[str]:
    """``name (why)`` of each package the lock does not pin by hash or commit, sorted: what is
    missing (`PIN_REASONS`), or the source when it is a local path, conda or unknown."""

    def why(p: Package) -> str:
        reason = p.pin.reason
        return p.source if reason in ("path", "conda", "unknown") else PIN_REASONS[reason]

    out = [f"{p.name} ({why(p)})" for p in env.packages if not p.pin.by_content]
    out += [f"{name} (no hash found)" for name in env.unhashed if env.package(name) is None]
    return sorted(out)


def _lock_files(found: Capture, env: Environment) -> list[dict[str, Any]]:
    names = {p.name for p in env.packages}
    total = len(names | set(env.unhashed))
    hashed = sum(1 for p in env.packages if p.pin.by_content and p.name not in env.unhashed)
    files = [{"file": "pylock.toml", "format": "PEP 751", "packages": total, "hashed": hashed}]
    if found.requirements is not None:
        files.append(
            {"file": "requirements.txt", "format": "pip", "packages": total, "hashed": hashed}
        )
    if env.conda is not None and found.conda is not None:
        count = len(env.conda.packages)
        pinned = sum(1 for p in env.conda.packages if p.sha256 or p.md5)
        files.append(
            {"file": "conda-lock.yml", "format": "conda-lock", "packages": count, "hashed": pinned}
        )
    return files


def _determinism(snap: Snapshot) -> dict[str, Any]:
    from envsnap.checks.rules.determinism import needed

    recorded = dict(snap.environment.envvars)
    gpu = snap.hardware is not None and bool(snap.hardware.gpus.devices)
    missing = [
        {"var": var, "value": str(setting["value"]), "framework": name}
        for var, (name, setting) in needed(snap.environment, gpu=gpu).items()
        if recorded.get(var) != str(setting["value"])
    ]
    return {"set": recorded, "missing": missing}


def _numerics(numerics: Numerics | None) -> dict[str, Any] | None:
    if numerics is None:
        return None
    from envsnap.formats.numerics import FORMAT_VERSION, digest

    return {
        "version": FORMAT_VERSION,
        "battery_version": numerics.battery_version,
        "probes": len(numerics.probes),
        "digest": digest(numerics),
    }


def _image(record: ImageRecord | None, lock_sha256: str, gpus: bool) -> dict[str, Any] | None:
    """What image.toml says was built and pushed; the `docker run` line asks for the GPUs
    (NVIDIA Container Toolkit) when the capture ran with some."""
    if record is None:
        return None
    pushed = record.pushed_digest
    matches = record.lock_digest == f"sha256:{lock_sha256}"
    info: dict[str, Any] = {
        "image_id": record.image_id,
        "tag": record.tag,
        "base_image": record.base_image,
        "pushed": record.pushed,
        "pushed_digest": pushed,
        "lock_matches": matches,
        # Only `report --verify` sets these, after fetching the manifest by digest.
        "verified": False,
        "verify_error": "",
        "run": shlex.join(["docker", "run", "--rm", *_GPU_FLAGS[: 2 * gpus], pushed, *IMAGE_CHECK])
        if pushed
        else "",
    }
    return info


def _repro(rec: ReproRecord | None, lock_sha256: str) -> dict[str, Any] | None:
    """The verdict recorded by `envsnap repro` in repro.toml, and whether it was recorded with
    this capture's lock (a verdict from another environment ticks nothing)."""
    if rec is None:
        return None
    from envsnap.formats.repro import FILENAME

    return {
        "file": FILENAME,
        "reproducible": rec.reproducible,
        "summary": rec.summary,
        "runs": rec.runs,
        "outputs": len(rec.outputs),
        "fixed_by": list(rec.fixed_by),
        "environments": [label for label, _ in rec.environments],
        "lock_matches": rec.lock_digest == f"sha256:{lock_sha256}",
    }


def _project(state: ProjectState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    from envsnap._redact import url

    return {
        "status": state.status,
        "reason": state.reason,
        "vcs": state.vcs,
        "remote": url(state.remote)[0],  # a capture made elsewhere may still hold a token
        "commit": state.commit,
        "branch": state.branch,
        "dirty": state.dirty,
        "changed_files": state.changed_files,
        "diff_sha256": state.diff_sha256,
    }


def _implementation(name: str) -> str:
    return _IMPLEMENTATIONS.get(name.lower(), name)


def gather(directory: str | os.PathLike[str], found: Capture | None = None) -> dict[str, Any]:
    """Every fact the report shows, from the capture in *directory* (read through the in door,
    unless *found* is what it read already); `InputError` on bad files."""
    if found is None:
        from envsnap.formats.capture import load

        found = load(directory)
    root = Path(directory)
    snap = Snapshot(environment=found.environment, hardware=found.hardware)
    env = snap.environment
    lock_sha256 = found.sha256("pylock.toml")
    files = _lock_files(found, env)
    main = files[0]
    hw = snap.hardware
    return {
        "version": FACTS_VERSION,
        "capture": str(root),
        "code": _project(found.project),
        "repro": _repro(found.part("repro"), lock_sha256),
        "environment": {
            "python": f"{_implementation(env.python.implementation)} {env.python.version}",
            "os": env.os.pretty_name or f"{env.os.system} {env.os.machine}",
            "lock_sha256": lock_sha256,
            "lock_files": files,
            "packages": main["packages"],
            "hashed": main["hashed"],
            "all_hashed": main["packages"] > 0 and main["hashed"] == main["packages"],
            "not_pinned": _not_pinned(env),
            "frameworks": [
                {"name": f.name, "version": f.version, "cuda": f.cuda or ""}
                for f in env.cuda.frameworks
            ],
            "image": _image(found.image, lock_sha256, bool(hw is not None and hw.gpus.devices)),
            "rebuild": shlex.join(["envsnap", "rebuild", str(root)]),
            "hardware": hardware_needed(hw),
            "determinism": _determinism(snap),
            "numerics": _numerics(found.numerics),
        },
    }
