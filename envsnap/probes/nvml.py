"""NVIDIA GPUs through NVML (ctypes, `_nvmllib`): driver, CUDA driver API, devices.

A machine without ``libnvidia-ml.so.1`` is the normal CPU case: `loadable` decides it without
importing ctypes. NVML failures become a status and a reason, never an exception;
a per-device query that the GPU or driver does not support leaves that field None. NVML ignores
``CUDA_VISIBLE_DEVICES``, so `visible` applies it here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..model import GPU, GPUs

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from ._nvmllib import NVML, NVMLError

    T = TypeVar("T")

__all__ = [
    "architecture_name",
    "cuda_version",
    "loadable",
    "probe",
    "visible",
]

LIBRARY = "libnvidia-ml.so.1"
NO_LIBRARY = f"{LIBRARY} not found (no NVIDIA driver)"

# nvmlDeviceArchitecture_t (nvml.h NVML_DEVICE_ARCH_*).
_ARCH_BY_ENUM = {
    2: "Kepler",
    3: "Maxwell",
    4: "Pascal",
    5: "Volta",
    6: "Turing",
    7: "Ampere",
    8: "Ada",
    9: "Hopper",
    10: "Blackwell",
    13: "Rubin",
}
# Fallback by compute capability (CUDA C Programming Guide, compute capabilities table).
_ARCH_BY_CC = {
    "3": "Kepler",
    "5": "Maxwell",
    "6": "Pascal",
    "7.0": "Volta",
    "7.2": "Volta",
    "7.5": "Turing",
    "8.0": "Ampere",
    "8.6": "Ampere",
    "8.7": "Ampere",
    "8.9": "Ada",
    "9": "Hopper",
    "10": "Blackwell",
    "11": "Blackwell",
    "12": "Blackwell",
}
# NVML return codes that explain why there is no usable NVML (nvml.h nvmlReturn_t).
_REASONS = {
    4: "no permission to query the NVIDIA driver (NVML: insufficient permissions)",
    9: "NVIDIA driver not loaded (NVML: driver not loaded)",
    12: f"{LIBRARY} could not be loaded (NVML: library not found)",
    18: "NVIDIA driver and NVML library versions differ (NVML: RM version mismatch)",
}
_ENABLED = 1


def probe(environ: Mapping[str, str] | None = None) -> GPUs:
    """Query NVML for the driver and the GPUs visible to CUDA (per ``CUDA_VISIBLE_DEVICES``)."""
    if not loadable():
        return GPUs(status="none", reason=NO_LIBRARY)
    from ._nvmllib import NVML, NVMLError

    try:
        nvml = NVML(LIBRARY)
    except OSError:
        return GPUs(status="none", reason=NO_LIBRARY)
    try:
        nvml.init()
    except NVMLError as exc:
        return GPUs(status="unavailable", reason=_reason(exc))
    try:
        return _query(nvml, os.environ if environ is None else environ)
    except NVMLError as exc:
        return GPUs(status="unavailable", reason=_reason(exc))
    finally:
        try:  # noqa: SIM105 (contextlib is not loaded on the check path)
            nvml.shutdown()
        except NVMLError:
            pass


def loadable(ld_cache: str = "/etc/ld.so.cache", search: Sequence[str] | None = None) -> bool:
    """False only when no folder the dynamic loader searches holds the NVML library (Linux).

    `dlopen` finds a bare soname through ``LD_LIBRARY_PATH``, the ld.so cache and the default
    folders; when none lists it, loading would fail, and `ctypes` need not be imported
    on the CPU machines that run `envsnap check` before every job. Anything unreadable or any
    other OS: True, and `ctypes.CDLL` decides.
    """
    if not sys.platform.startswith("linux"):
        return True
    try:
        with open(ld_cache, "rb") as fh:
            if LIBRARY.encode() in fh.read():
                return True
    except OSError:
        return True
    folders = _search_path() if search is None else search
    return any((Path(d) / LIBRARY).exists() for d in folders if d)


def _search_path() -> list[str]:
    """LD_LIBRARY_PATH (as this process started), the loader's defaults, the interpreter's lib."""
    arch = getattr(sys.implementation, "_multiarch", "")
    defaults = ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
    if arch:
        defaults += [f"/lib/{arch}", f"/usr/lib/{arch}"]
    # conda's python carries RPATH $ORIGIN/../lib
    return [*os.environ.get("LD_LIBRARY_PATH", "").split(":"), *defaults, f"{sys.prefix}/lib"]


def _reason(exc: NVMLError) -> str:
    if exc.value in _REASONS:
        return _REASONS[exc.value]
    return f"NVML error {exc.value}: {exc}"


def _query(nvml: NVML, environ: Mapping[str, str]) -> GPUs:
    driver = nvml.driver_version()
    cuda = _optional(nvml.cuda_driver_version)
    count = nvml.device_count()
    devices = [_device(nvml, i) for i in range(count)]
    mask = environ.get("CUDA_VISIBLE_DEVICES")
    shown = visible(devices, mask)
    reason = "NVML reports no GPU" if count == 0 else ""
    if len(shown) < count:
        reason = f"CUDA_VISIBLE_DEVICES={mask!r} shows {len(shown)} of {count} GPU(s)"
    return GPUs(
        status="ok",
        reason=reason,
        driver_version=driver,
        cuda_driver_version=cuda_version(cuda) if cuda is not None else None,
        devices=tuple(shown),
    )


def _optional(fn: Callable[..., T], *args: Any) -> T | None:
    """Call an NVML query for an optional field; None where it fails.

    NOT_SUPPORTED and FUNCTION_NOT_FOUND (an older driver) are the usual answers; drivers also
    answer INVALID_ARGUMENT for queries that only apply to MIG handles, so every NVML error
    leaves the field unknown rather than losing the whole GPU list.
    """
    from ._nvmllib import NVMLError

    try:
        return fn(*args)
    except NVMLError:
        return None


def _device(nvml: NVML, index: int) -> GPU:
    handle = nvml.handle(index)
    cc_pair = _optional(nvml.compute_capability, handle)
    cc = f"{cc_pair[0]}.{cc_pair[1]}" if cc_pair else ""
    memory = _optional(nvml.memory_total, handle)
    mig = _optional(nvml.mig_mode, handle)
    ecc = _optional(nvml.ecc_mode, handle)
    sms = _optional(nvml.multiprocessor_count, handle)
    return GPU(
        index=index,
        name=nvml.name(handle),
        uuid=_optional(nvml.uuid, handle) or "",
        memory_total_bytes=memory or 0,
        compute_capability=cc,
        architecture=architecture_name(_optional(nvml.architecture, handle), cc),
        mig_mode=mig[0] == _ENABLED if mig else None,
        ecc_mode=ecc[0] == _ENABLED if ecc else None,
        multiprocessor_count=sms or None,
    )


def cuda_version(value: int) -> str:
    """Pure: NVML's CUDA driver version integer as text (12020 → "12.2", 13000 → "13.0")."""
    return f"{value // 1000}.{value % 1000 // 10}"


def architecture_name(arch: int | None, compute_capability: str) -> str:
    """Pure: the architecture name from NVML's enum, else from the compute capability."""
    if arch in _ARCH_BY_ENUM:
        return _ARCH_BY_ENUM[arch]
    major = compute_capability.split(".", maxsplit=1)[0]
    return _ARCH_BY_CC.get(compute_capability) or _ARCH_BY_CC.get(major, "")


def visible(devices: Sequence[GPU], cuda_visible: str | None) -> list[GPU]:
    """Pure: the GPUs CUDA would see under ``CUDA_VISIBLE_DEVICES``, in that order.

    Unset → all. Entries are indices or (prefixes of) ``GPU-`` UUIDs; like CUDA, parsing stops
    at the first entry that names no device, so ``""`` and ``"-1"`` hide every GPU. A ``MIG-``
    entry keeps the MIG-enabled GPUs (NVML's parent lookup is not worth a query here).
    """
    if cuda_visible is None:
        return list(devices)
    shown: list[GPU] = []
    for raw in cuda_visible.split(","):
        entry = raw.strip()
        if entry.startswith("MIG-"):
            shown.extend(d for d in devices if d.mig_mode and d not in shown)
            continue
        match = _match(devices, entry)
        if match is None or match in shown:
            break
        shown.append(match)
    return shown


def _match(devices: Sequence[GPU], entry: str) -> GPU | None:
    if entry.isdigit():
        return next((d for d in devices if d.index == int(entry)), None)
    if entry.startswith("GPU-") and len(entry) > len("GPU-"):
        found = [d for d in devices if d.uuid.startswith(entry)]
        return found[0] if len(found) == 1 else None
    return None
