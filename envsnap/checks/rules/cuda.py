"""Rules on the driver and the CUDA user-space stack: driver minimums, minor-version
compatibility, and version changes of the driver, CUDA runtime, cuDNN, cuBLAS and NCCL."""

from __future__ import annotations

from envsnap import knowledge
from envsnap.checks.findings import Finding
from envsnap.knowledge import version_tuple
from envsnap.model import Environment, Snapshot

from ._common import has_gpus

__all__ = ["RULES", "cuda_components", "driver_changed", "driver_minimum", "required_cuda"]

# Components whose version is the CUDA runtime a process loads (nvcc on PATH is not).
_RUNTIME_COMPONENTS = ("cuda-runtime", "cuda-toolkit")
_SYSTEM = " of the system toolkit"


def _mm(version: str) -> tuple[int, int] | None:
    parts = version_tuple(version)
    if not parts:
        return None
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def parse_nvml_cuda(value: str | None) -> tuple[int, int] | None:
    """NVML's CUDA driver version, as ``"12.2"`` or the raw integer ``"12020"``."""
    if not value:
        return None
    if value.isdigit() and int(value) >= 1000:
        v = int(value)
        return (v // 1000, v % 1000 // 10)
    return _mm(value)


def required_cuda(*envs: Environment) -> tuple[tuple[int, int], str] | None:
    """The newest CUDA runtime the environments load, and what needs it (e.g. 'torch 2.8.0')."""
    best: tuple[tuple[int, int], str] | None = None
    for env in envs:
        needs = [(fw.cuda, f"{fw.name} {fw.version}") for fw in env.cuda.frameworks if fw.cuda]
        needs += [
            (c.version, f"{c.name} {c.version}" + (_SYSTEM if "system" in c.source else ""))
            for c in env.cuda.components
            if c.name in _RUNTIME_COMPONENTS
        ]
        for version, what in needs:
            mm = _mm(version)
            if mm is not None and (best is None or mm > best[0]):
                best = (mm, what)
    return best


def _fmt(mm: tuple[int, int]) -> str:
    return f"{mm[0]}.{mm[1]}"


def driver_minimum(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """The driver must support the CUDA runtime the environment loads.

    At or above NVIDIA's minimum for that CUDA version: fine. Below it but at or above the
    minor-version compatibility floor of the same major version: a warning naming what is lost.
    Below the floor: an error. NVML's own CUDA version, when reported, decides what the driver
    supports (it also covers a forward-compatibility package); the release-notes table is the
    fallback.
    """
    if not has_gpus(current) or current.hardware is None:
        return []
    need = required_cuda(recorded.environment, current.environment)
    if need is None:
        return []
    (req, what), gpus = need, current.hardware.gpus
    driver = gpus.driver_version or ""
    table = knowledge.cuda_for_driver(driver) if driver else None
    supported = parse_nvml_cuda(gpus.cuda_driver_version) or (_mm(table) if table else None)
    if supported is None or supported >= req:
        return []
    minimum = knowledge.min_driver(_fmt(req)) or f"a driver for CUDA {_fmt(req)}"
    actual = f"{driver or 'unknown'} (CUDA {_fmt(supported)})"
    floor = knowledge.compat_floor(req[0])
    if floor and driver and version_tuple(driver) >= version_tuple(floor.floor):
        return [
            Finding(
                "warning",
                "driver",
                "driver.minor-compat",
                f"CUDA {_fmt(req)} ({what}) runs on this driver only through minor-version "
                f"compatibility; lost: {floor.lost}",
                f">= {minimum}",
                actual,
                f"upgrade the NVIDIA driver to >= {minimum}, or avoid torch.compile/Triton/"
                "NVRTC JIT",
            )
        ]
    return [
        Finding(
            "error",
            "driver",
            "driver.too-old",
            f"the NVIDIA driver is too old for CUDA {_fmt(req)} ({what}): "
            "cudaErrorInsufficientDriver (35)",
            f">= {minimum}",
            actual,
            f"upgrade the NVIDIA driver to >= {minimum}, or install a build for CUDA "
            f"<= {_fmt(supported)}",
        )
    ]


def driver_changed(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another driver version: PTX is JIT-compiled by the driver, so generated code may differ."""
    if not (has_gpus(recorded) and has_gpus(current)):
        return []
    assert recorded.hardware is not None and current.hardware is not None
    rec, cur = recorded.hardware.gpus.driver_version, current.hardware.gpus.driver_version
    if not rec or not cur or rec == cur:
        return []
    return [
        Finding(
            "warning",
            "driver",
            "driver.changed",
            "another NVIDIA driver: JIT-compiled PTX kernels and library heuristics may differ",
            rec,
            cur,
            f"install NVIDIA driver {rec}",
        )
    ]


def _stack(env: Environment) -> dict[str, str]:
    out = {c.name: c.version for c in env.cuda.components}
    for fw in env.cuda.frameworks:
        if fw.cuda:
            out[f"{fw.name} CUDA build"] = fw.cuda
        if fw.cudnn:
            out.setdefault("cudnn", fw.cudnn)
    return out


def _same(recorded: str, current: str) -> bool:
    """True when two versions agree as far as the less precise goes (13.0 and 13.0.2)."""
    a, b = recorded.split("."), current.split(".")
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def cuda_components(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another CUDA runtime, cuDNN, cuBLAS or NCCL: kernels and algorithms differ (warning).

    Libraries the capture did not have at all make one finding, `cuda.added`: on a CPU-only
    capture that is the GPU stack of this machine, and the remedy is to hide the GPUs.
    """
    rec, cur = _stack(recorded.environment), _stack(current.environment)
    found: list[Finding] = []
    added: list[str] = []
    for name in sorted(set(rec) | set(cur)):
        was, now = rec.get(name), cur.get(name)
        if was is None:
            added.append(f"{name} {now}")
            continue
        if now is not None and _same(was, now):
            continue
        code = "cuda." + name.replace(" CUDA build", "-cuda").replace(" ", "-") + "-changed"
        message = (
            f"another {name}: kernels and algorithm choices may differ"
            if now is not None
            else f"no {name} here: the job cannot load it, or takes another path without it"
        )
        found.append(
            Finding("warning", "cuda", code, message, was, now or "none", f"install {name} {was}")
        )
    if added:
        on_gpu = any(fw.cuda for fw in recorded.environment.cuda.frameworks)
        found.append(
            Finding(
                "warning",
                "cuda",
                "cuda.added",
                f"{len(added)} CUDA librar{'y' if len(added) == 1 else 'ies'} the capture did "
                "not have: code that uses them when present computes another way",
                "none",
                ", ".join(added),
                "uninstall what brings them, or capture on this machine"
                if on_gpu
                else "the captured frameworks had no CUDA build: export CUDA_VISIBLE_DEVICES= to "
                "compute on the CPU as captured, or capture on this machine",
            )
        )
    return found


RULES = (driver_minimum, driver_changed, cuda_components)
