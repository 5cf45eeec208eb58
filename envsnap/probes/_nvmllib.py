"""The dozen NVML calls the GPU probe makes, through ctypes against nvml.h's C ABI.

nvidia-ml-py's `pynvml` binds all of NVML: importing it builds hundreds of ctypes types and
loads ``ctypes.util`` and ``subprocess``, more than the rest of an ``envsnap check`` costs
(bench/ measures it). The calls, argument types, struct
layouts and return codes here are nvml.h's, as pynvml uses them.
"""

from __future__ import annotations

import ctypes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NVML", "NVMLError"]

SUCCESS = 0
FUNCTION_NOT_FOUND = 13  # NVML_ERROR_FUNCTION_NOT_FOUND: the driver's NVML lacks the symbol
_NAME_LEN = 96  # NVML_DEVICE_NAME_V2_BUFFER_SIZE
_VERSION_LEN = 80  # NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
_UUID_LEN = 80  # NVML_DEVICE_UUID_V2_BUFFER_SIZE


class NVMLError(Exception):
    """An nvmlReturn_t other than NVML_SUCCESS; `value` is the code."""

    def __init__(self, value: int, text: str = "") -> None:
        super().__init__(text or f"NVML error {value}")
        self.value = value


class Memory(ctypes.Structure):
    """nvmlMemory_t (v1)."""

    _fields_ = [
        ("total", ctypes.c_ulonglong),
        ("free", ctypes.c_ulonglong),
        ("used", ctypes.c_ulonglong),
    ]


class Attributes(ctypes.Structure):
    """nvmlDeviceAttributes_t, as nvmlDeviceGetAttributes_v2 fills it."""

    _fields_ = [
        ("multiprocessorCount", ctypes.c_uint),
        ("sharedCopyEngineCount", ctypes.c_uint),
        ("sharedDecoderCount", ctypes.c_uint),
        ("sharedEncoderCount", ctypes.c_uint),
        ("sharedJpegCount", ctypes.c_uint),
        ("sharedOfaCount", ctypes.c_uint),
        ("gpuInstanceSliceCount", ctypes.c_uint),
        ("computeInstanceSliceCount", ctypes.c_uint),
        ("memorySizeMB", ctypes.c_ulonglong),
    ]


class NVML:
    """A loaded libnvidia-ml; each method is one NVML call and raises `NVMLError`."""

    def __init__(self, library: str) -> None:
        self._lib = ctypes.CDLL(library)

    def _call(self, name: str, *args: Any) -> None:
        try:
            fn = getattr(self._lib, name)
        except AttributeError:
            raise NVMLError(FUNCTION_NOT_FOUND, f"{name} not found in this driver") from None
        code = int(fn(*args))
        if code != SUCCESS:
            raise NVMLError(code, self._error_string(code))

    def _error_string(self, code: int) -> str:
        try:
            fn = self._lib.nvmlErrorString
        except AttributeError:
            return ""
        fn.restype = ctypes.c_char_p
        text = fn(ctypes.c_int(code))
        return text.decode("utf-8", "replace") if text else ""

    def _text(self, name: str, size: int, *args: Any) -> str:
        buf = ctypes.create_string_buffer(size)
        self._call(name, *args, buf, ctypes.c_uint(size))
        return buf.value.decode("utf-8", "replace")

    def _uints(self, name: str, handle: Any, n: int) -> tuple[int, ...]:
        out = [ctypes.c_uint() for _ in range(n)]
        self._call(name, handle, *(ctypes.byref(v) for v in out))
        return tuple(v.value for v in out)

    def init(self) -> None:
        """nvmlInit_v2."""
        self._call("nvmlInit_v2")

    def shutdown(self) -> None:
        """nvmlShutdown."""
        self._call("nvmlShutdown")

    def driver_version(self) -> str:
        """nvmlSystemGetDriverVersion: "580.159.04"."""
        return self._text("nvmlSystemGetDriverVersion", _VERSION_LEN)

    def cuda_driver_version(self) -> int:
        """nvmlSystemGetCudaDriverVersion_v2 (else the v1 call): 13000 for CUDA 13.0."""
        value = ctypes.c_int()
        try:
            self._call("nvmlSystemGetCudaDriverVersion_v2", ctypes.byref(value))
        except NVMLError:
            self._call("nvmlSystemGetCudaDriverVersion", ctypes.byref(value))
        return value.value

    def device_count(self) -> int:
        """nvmlDeviceGetCount_v2."""
        value = ctypes.c_uint()
        self._call("nvmlDeviceGetCount_v2", ctypes.byref(value))
        return value.value

    def handle(self, index: int) -> ctypes.c_void_p:
        """nvmlDeviceGetHandleByIndex_v2."""
        handle = ctypes.c_void_p()
        self._call("nvmlDeviceGetHandleByIndex_v2", ctypes.c_uint(index), ctypes.byref(handle))
        return handle

    def name(self, handle: ctypes.c_void_p) -> str:
        """nvmlDeviceGetName."""
        return self._text("nvmlDeviceGetName", _NAME_LEN, handle)

    def uuid(self, handle: ctypes.c_void_p) -> str:
        """nvmlDeviceGetUUID: "GPU-…"."""
        return self._text("nvmlDeviceGetUUID", _UUID_LEN, handle)

    def memory_total(self, handle: ctypes.c_void_p) -> int:
        """nvmlDeviceGetMemoryInfo: total bytes."""
        memory = Memory()
        self._call("nvmlDeviceGetMemoryInfo", handle, ctypes.byref(memory))
        return int(memory.total)

    def compute_capability(self, handle: ctypes.c_void_p) -> tuple[int, int]:
        """nvmlDeviceGetCudaComputeCapability: (major, minor)."""
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._call(
            "nvmlDeviceGetCudaComputeCapability", handle, ctypes.byref(major), ctypes.byref(minor)
        )
        return major.value, minor.value

    def architecture(self, handle: ctypes.c_void_p) -> int:
        """nvmlDeviceGetArchitecture: an NVML_DEVICE_ARCH_* value."""
        return self._uints("nvmlDeviceGetArchitecture", handle, 1)[0]

    def mig_mode(self, handle: ctypes.c_void_p) -> tuple[int, ...]:
        """nvmlDeviceGetMigMode: (current, pending)."""
        return self._uints("nvmlDeviceGetMigMode", handle, 2)

    def ecc_mode(self, handle: ctypes.c_void_p) -> tuple[int, ...]:
        """nvmlDeviceGetEccMode: (current, pending)."""
        return self._uints("nvmlDeviceGetEccMode", handle, 2)

    def multiprocessor_count(self, handle: ctypes.c_void_p) -> int:
        """nvmlDeviceGetAttributes_v2: the multiprocessor count."""
        attrs = Attributes()
        self._call("nvmlDeviceGetAttributes_v2", handle, ctypes.byref(attrs))
        return int(attrs.multiprocessorCount)
