"""The CUDA user-space stack, read from files only: no torch, TensorFlow, JAX or numpy import.

Frameworks: torch (`torch/version.py` as text, the GPU arch list from the bytes of
`libtorch_python.so` / `libtorch_cuda.so`, cached by path, size and mtime), TensorFlow
(`build_info.py`), JAX (jaxlib and its CUDA plugin's distribution name), CuPy (its distribution
name). Components: cuda-runtime, cudnn, cublas, nccl, cuda-toolkit from the `nvidia-*` wheels,
else their headers, else the system toolkit (CUDA_HOME, CUDA_PATH, /usr/local/cuda); nvcc from
PATH, which is recorded but is not what frameworks load.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from envsnap._text import canonical_name
from envsnap.model import Component, CudaStack, FrameworkBuild, Package
from envsnap.probes import _cudafiles as files
from envsnap.probes._filecache import cached

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    import mmap

__all__ = [
    "ARCH_PATTERN",
    "parse_arch_list",
    "parse_nvcc_version",
    "parse_torch_version",
    "probe",
    "scan_arch_list",
]

# Patterns as text: `re` compiles (and caches) each on first use, so importing this probe on
# the `check` path compiles nothing that the machine at hand does not need.
ARCH_PATTERN = rb"sm_[0-9]+[af]?(?: (?:sm|compute)_[0-9]+[af]?)+"
_NVCC = r"release\s+([0-9.]+),\s*V([0-9][0-9.]*)"
_ASSIGN = r"(?m)^(\w+)\s*(?::[^=]*)?=\s*(.+?)\s*$"

# normalized wheel name -> component; "-cu13" builds of runtime/cublas are 0.0.1 stubs
_WHEELS: Mapping[str, str] = {
    "nvidia-cuda-runtime-cu11": "cuda-runtime",
    "nvidia-cuda-runtime-cu12": "cuda-runtime",
    "nvidia-cuda-runtime": "cuda-runtime",
    "nvidia-cuda-runtime-cu13": "cuda-runtime",
    "nvidia-cudnn-cu11": "cudnn",
    "nvidia-cudnn-cu12": "cudnn",
    "nvidia-cudnn-cu13": "cudnn",
    "nvidia-cudnn": "cudnn",
    "nvidia-cublas-cu11": "cublas",
    "nvidia-cublas-cu12": "cublas",
    "nvidia-cublas": "cublas",
    "nvidia-cublas-cu13": "cublas",
    "nvidia-nccl-cu11": "nccl",
    "nvidia-nccl-cu12": "nccl",
    "nvidia-nccl-cu13": "nccl",
    "nvidia-nccl": "nccl",
    "cuda-toolkit": "cuda-toolkit",
}


# --- pure parsers -------------------------------------------------------------------------------


def parse_torch_version(text: str) -> dict[str, str | None]:
    """Parse `torch/version.py`: ``__version__``, ``cuda``, ``hip`` (None when not a string)."""
    out: dict[str, str | None] = {}
    for name, value in re.findall(_ASSIGN, text):
        if name in ("__version__", "cuda", "hip", "rocm", "xpu", "git_version"):
            m = re.fullmatch(r"""(['"])(.*)\1""", value)
            out[name] = m.group(2) if m else None
    return out


def parse_arch_list(data: bytes | mmap.mmap) -> tuple[str, ...]:
    """Return the longest ``sm_XX ... compute_XX`` list found in a binary's bytes."""
    best = b""
    for match in re.finditer(ARCH_PATTERN, data):
        if len(match.group(0)) > len(best):
            best = match.group(0)
    return tuple(best.decode("ascii").split()) if best else ()


def parse_nvcc_version(text: str) -> str | None:
    """Return the full version from `nvcc --version` (``V12.2.140`` → ``12.2.140``)."""
    m = re.search(_NVCC, text)
    return m.group(2) if m else None


# --- the arch-list scan, cached -----------------------------------------------------------------


def _strings(data: object) -> bool:
    return isinstance(data, list) and all(isinstance(a, str) for a in data)


def _cached(kind: str, path: Path, compute: Callable[[Path], list[str]]) -> list[str]:
    """Return compute(path), cached under the user cache dir by (path, size, mtime)."""
    value: list[str] = cached(kind, path, compute, _strings)
    return value


def _scan(path: Path) -> list[str]:
    import mmap

    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return list(parse_arch_list(mm))
    except ValueError:  # an empty file cannot be mapped
        return []


def scan_arch_list(path: Path) -> tuple[str, ...]:
    """Scan *path* for its GPU arch list; the answer is cached by (path, size, mtime)."""
    try:
        return tuple(_cached("arch-lists", path, _scan))
    except OSError:
        return ()


def _nvcc_version(exe: Path) -> list[str]:
    from envsnap._subprocess import run

    done = run([str(exe), "--version"], timeout=20)
    version = parse_nvcc_version(done.stdout) if done.ok else None
    return [version] if version else []


# --- frameworks ---------------------------------------------------------------------------------


def _find(site_dirs: Sequence[str], rel: str) -> Path | None:
    for site in site_dirs:
        candidate = Path(site) / rel
        if candidate.is_file():
            return candidate
    return None


def _torch(site_dirs: Sequence[str], versions: Mapping[str, str]) -> FrameworkBuild | None:
    version_py = _find(site_dirs, "torch/version.py")
    if version_py is None:
        return None
    info = parse_torch_version(files.read(version_py))
    lib = version_py.parent / "lib"
    arch: tuple[str, ...] = ()
    for so in ("libtorch_cuda.so", "libtorch_python.so", "libtorch_hip.so"):
        if (lib / so).is_file():
            arch = scan_arch_list(lib / so)
            if arch:
                break
    return FrameworkBuild(
        name="torch",
        version=info.get("__version__") or versions.get("torch", ""),
        cuda=info.get("cuda"),
        cudnn=files.requires_pin(site_dirs, "torch", ("nvidia-cudnn-cu",)),
        arch_list=arch,
    )


def _tensorflow(site_dirs: Sequence[str], versions: Mapping[str, str]) -> FrameworkBuild | None:
    build_info = _find(site_dirs, "tensorflow/python/platform/build_info.py")
    if build_info is None:
        return None
    info = files.parse_tf_build_info(files.read(build_info))
    arch = info.get("cuda_compute_capabilities")
    return FrameworkBuild(
        name="tensorflow",
        version=versions.get("tensorflow") or versions.get("tensorflow-cpu") or "",
        cuda=_str_or_none(info.get("cuda_version")),
        cudnn=_str_or_none(info.get("cudnn_version")),
        arch_list=tuple(str(a) for a in arch) if isinstance(arch, list) else (),
    )


def _str_or_none(value: object) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def _jax(versions: Mapping[str, str]) -> FrameworkBuild | None:
    jaxlib = versions.get("jaxlib")
    if jaxlib is None:
        return None
    cuda = None
    for name in sorted(versions):
        m = re.fullmatch(r"jax-cuda(\d+)-(plugin|pjrt)", name)
        if m:
            cuda = m.group(1)
    local = re.search(r"\+cuda(\d+)", jaxlib)  # jaxlib < 0.4.26: 0.4.23+cuda12.cudnn89
    return FrameworkBuild(name="jax", version=jaxlib, cuda=cuda or (local and local.group(1)))


def _cupy(versions: Mapping[str, str]) -> FrameworkBuild | None:
    for name in sorted(versions):
        m = re.fullmatch(r"cupy-cuda(\d+)(x?)", name)
        if m:
            digits, wildcard = m.groups()
            # cupy-cuda12x → 12; cupy-cuda117 → 11.7; cupy-cuda102 → 10.2
            cuda = digits if wildcard else f"{digits[:-1]}.{digits[-1]}"
            return FrameworkBuild(name="cupy", version=versions[name], cuda=cuda)
    return None


# --- components ---------------------------------------------------------------------------------


def _from_wheels(packages: Iterable[Package]) -> dict[str, Component]:
    found: dict[str, Component] = {}
    for pkg in sorted(packages, key=lambda p: canonical_name(p.name)):
        component = _WHEELS.get(canonical_name(pkg.name))
        if component is None or pkg.version.split(".")[0] in ("0", ""):
            continue  # 0.0.1 placeholders (nvidia-cuda-runtime-cu13 and friends)
        found.setdefault(
            component, Component(component, pkg.version, f"wheel {canonical_name(pkg.name)}")
        )
    return found


def _nvcc() -> Component | None:
    from envsnap._subprocess import which

    exe = which("nvcc")
    if exe is None:
        return None
    try:
        found = _cached("nvcc", Path(exe), _nvcc_version)
    except OSError:
        return None
    if not found:
        return None
    note = "compiler only; not the runtime frameworks load"
    return Component("nvcc", found[0], f"PATH {exe} ({note})")


def probe(packages: Sequence[Package], site_dirs: Sequence[str]) -> CudaStack:
    """Return the frameworks' CUDA builds and the CUDA components this environment loads."""
    versions = {canonical_name(p.name): p.version for p in packages}
    builders = (
        _torch(site_dirs, versions),
        _tensorflow(site_dirs, versions),
        _jax(versions),
        _cupy(versions),
    )
    frameworks = tuple(sorted((f for f in builders if f is not None), key=lambda f: f.name))
    components = _from_wheels(packages)
    for comp in files.from_headers(site_dirs):
        components.setdefault(comp.name, comp)
    for comp in files.from_system_toolkit(os.environ):
        components.setdefault(comp.name, comp)
    nvcc = _nvcc()
    if nvcc is not None:
        components.setdefault("nvcc", nvcc)
    return CudaStack(
        frameworks=frameworks,
        components=tuple(sorted(components.values(), key=lambda c: c.name)),
    )
