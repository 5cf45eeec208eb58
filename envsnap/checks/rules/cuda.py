"""Rules on the driver and the CUDA user-space stack: driver minimums, minor-version
compatibility, and version changes of the driver, CUDA runtime, cuDNN, cuBLAS and NCCL.

Only what the environment loads counts (`envsnap.cudause`): a system toolkit or nvcc that no
framework uses cannot make a job fail, so it never raises an error or a warning here.
"""

from __future__ import annotations

from envsnap import knowledge
from envsnap.cudause import cuda_users, used_components
from envsnap.findings import Finding
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
    """The newest CUDA runtime the environments load, and what needs it (e.g. 'torch 2.8.0').

    Framework builds count, and the runtime components something loads; a toolkit nothing
    uses (a CPU-only torch beside /usr/local/cuda) does not.
    """
    best: tuple[tuple[int, int], str] | None = None
    for env in envs:
        used = used_components(env)
        needs = [(fw.cuda, f"{fw.name} {fw.version}") for fw in env.cuda.frameworks if fw.cuda]
        needs += [
            (c.version, f"{c.name} {c.version}" + (_SYSTEM if "system" in c.source else ""))
            for c in env.cuda.components
            if c.name in _RUNTIME_COMPONENTS and c.name in used
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
    fallback. Error: a framework build or a used runtime needs more than the driver can give
    even through minor-version compatibility (cudaErrorInsufficientDriver at the first call).
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
    """Another driver version: PTX is JIT-compiled by the driver, so generated code may differ.

    Never an error (`driver_minimum` says when the driver cannot run the job); a warning when
    something loads CUDA, info when nothing does (no kernel runs on the GPU).
    """
    if not (has_gpus(recorded) and has_gpus(current)):
        return []
    assert recorded.hardware is not None and current.hardware is not None
    rec, cur = recorded.hardware.gpus.driver_version, current.hardware.gpus.driver_version
    if not rec or not cur or rec == cur:
        return []
    envs = (recorded.environment, current.environment)
    return [
        Finding(
            "warning" if any(used_components(e) or cuda_users(e) for e in envs) else "info",
            "driver",
            "driver.changed",
            "another NVIDIA driver: JIT-compiled PTX kernels and library heuristics may differ",
            rec,
            cur,
            f"install NVIDIA driver {rec}",
        )
    ]


def _stack(env: Environment) -> dict[str, tuple[str, bool]]:
    """Name -> (version, whether the environment loads it)."""
    used = used_components(env)
    out = {c.name: (c.version, c.name in used) for c in env.cuda.components}
    for fw in env.cuda.frameworks:
        if fw.cuda:
            out[f"{fw.name} CUDA build"] = (fw.cuda, True)
        if fw.cudnn:
            out.setdefault("cudnn", (fw.cudnn, True))
    return out


def _same(recorded: str, current: str) -> bool:
    """True when two versions agree as far as the less precise goes (13.0 and 13.0.2)."""
    a, b = recorded.split("."), current.split(".")
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def cuda_components(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another CUDA runtime, cuDNN, cuBLAS or NCCL: kernels and algorithms differ.

    Never an error (a missing library the job needs shows as a missing package or a driver
    error). A warning when the recorded environment loads the component (a framework build, a
    wheel library, a system toolkit its framework uses); info when nothing loaded it (a toolkit
    or nvcc beside a CPU-only environment: the job cannot notice it is gone).
    Libraries the capture did not have at all make one finding, `cuda.added`: a warning when
    something here loads them (on a CPU-only capture that is the GPU stack of this machine, and
    the remedy is to hide the GPUs), info otherwise.
    """
    rec, cur = _stack(recorded.environment), _stack(current.environment)
    found: list[Finding] = []
    added: list[str] = []
    added_used = False
    for name in sorted(set(rec) | set(cur)):
        was_used = rec.get(name, ("", False))[1]
        was = rec[name][0] if name in rec else None
        now = cur[name][0] if name in cur else None
        if was is None:
            added.append(f"{name} {now}")
            added_used = added_used or cur[name][1]
            continue
        if now is not None and _same(was, now):
            continue
        code = "cuda." + name.replace(" CUDA build", "-cuda").replace(" ", "-") + "-changed"
        message = (
            f"another {name}: kernels and algorithm choices may differ"
            if now is not None
            else f"no {name} here: the job cannot load it, or takes another path without it"
        )
        severity = "warning" if was_used else "info"
        if not was_used:
            message += " (nothing in the capture loads it)"
        found.append(
            Finding(severity, "cuda", code, message, was, now or "none", _install(name, was))
        )
    if added:
        on_gpu = any(fw.cuda for fw in recorded.environment.cuda.frameworks)
        found.append(
            Finding(
                "warning" if added_used else "info",
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


def _install(name: str, version: str) -> str:
    """How to get component *name* at *version* back."""
    if name.endswith(" CUDA build"):
        return f"install the {name.replace(' CUDA build', '')} build for CUDA {version}"
    return f"install {name} {version}"


RULES = (driver_minimum, driver_changed, cuda_components)
