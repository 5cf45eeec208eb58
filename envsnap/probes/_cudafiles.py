"""File readers and pure parsers behind `envsnap.probes.cuda`: headers, version files, metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from envsnap._jsonfast import loads
from envsnap.model import Component

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    import ast
    from typing import Any

__all__ = [
    "from_headers",
    "from_system_toolkit",
    "parse_cuda_h",
    "parse_cudnn_version_h",
    "parse_nccl_h",
    "parse_tf_build_info",
    "parse_version_json",
    "parse_version_txt",
    "read",
    "requires_pin",
]

_DEFINE = r"(?m)^\s*#\s*define\s+(\w+)\s+(\d+)\b"  # compiled by `re` on first use


def read(path: Path, limit: int = 1 << 16) -> str:
    """Read the head of a text file; an unreadable file reads as empty (probes never raise).

    The versions sit near the top (`cuda.h` is 1 MB; its CUDA_VERSION is on line 263).
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return ""


def _defines(text: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(_DEFINE, text)}


def parse_cudnn_version_h(text: str) -> str | None:
    """``CUDNN_MAJOR/MINOR/PATCHLEVEL`` from `cudnn_version.h` (or `cudnn.h` before 8)."""
    d = _defines(text)
    if "CUDNN_MAJOR" not in d:
        return None
    return f"{d['CUDNN_MAJOR']}.{d.get('CUDNN_MINOR', 0)}.{d.get('CUDNN_PATCHLEVEL', 0)}"


def parse_nccl_h(text: str) -> str | None:
    """``NCCL_MAJOR/MINOR/PATCH`` from `nccl.h`."""
    d = _defines(text)
    if "NCCL_MAJOR" not in d:
        return None
    return f"{d['NCCL_MAJOR']}.{d.get('NCCL_MINOR', 0)}.{d.get('NCCL_PATCH', 0)}"


def parse_cuda_h(text: str) -> str | None:
    """``#define CUDA_VERSION 13000`` (or ``CUDART_VERSION``) → ``13.0``."""
    d = _defines(text)
    code = d.get("CUDA_VERSION", d.get("CUDART_VERSION"))
    return f"{code // 1000}.{code % 1000 // 10}" if code else None


def parse_version_json(text: str) -> dict[str, str]:
    """The toolkit's `version.json`: component key (``cuda``, ``cuda_cudart``...) → version."""
    if not text.strip():
        return {}  # no version.json (older toolkits): nothing to parse
    try:
        data = loads(text)
    except ValueError:  # json.JSONDecodeError
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: str(v["version"])
        for k, v in data.items()
        if isinstance(v, dict) and isinstance(v.get("version"), str)
    }


def parse_version_txt(text: str) -> str | None:
    """The pre-11.1 toolkit's `version.txt`: ``CUDA Version 10.2.89`` → ``10.2.89``."""
    m = re.search(r"CUDA Version\s+([0-9][0-9.]*)", text)
    return m.group(1) if m else None


def _tf_value(node: ast.expr) -> Any:
    import ast

    # `{...}` (TF 2.3) or `collections.OrderedDict([(key, value), ...])` (TF >= 2.4)
    if isinstance(node, ast.Call) and node.args:
        pairs = ast.literal_eval(node.args[0])
        return dict(pairs) if isinstance(pairs, list) else None
    return ast.literal_eval(node)


def _windows_version(value: Any, *, split_minor: bool) -> Any:
    # Windows builds spell the DLL suffix: cuda '64_112' → '11.2', cudnn '64_8' → '8'
    if isinstance(value, str) and re.fullmatch(r"64_\d+", value):
        digits = value[3:]
        return f"{digits[:-1]}.{digits[-1]}" if split_minor and len(digits) > 1 else digits
    return value


def parse_tf_build_info(text: str) -> dict[str, Any]:
    """The `build_info` mapping of TensorFlow's generated `build_info.py` (pure)."""
    import ast  # only when TensorFlow is installed

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    out: dict[str, Any] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        try:
            if isinstance(target, ast.Name) and target.id == "build_info":
                value = _tf_value(node.value)
                if isinstance(value, dict):
                    out.update({str(k): v for k, v in value.items()})
            elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                out[str(target.slice.value)] = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError):
            continue
    if "cuda_version" in out:
        out["cuda_version"] = _windows_version(out["cuda_version"], split_minor=True)
    if "cudnn_version" in out:
        out["cudnn_version"] = _windows_version(out["cudnn_version"], split_minor=False)
    return out


def requires_pin(site_dirs: Sequence[str], dist: str, prefixes: Sequence[str]) -> str | None:
    """The ``==`` pin of a Requires-Dist in *dist*'s METADATA whose name starts with a prefix
    (torch's CUDA wheels pin ``nvidia-cudnn-cu12==9.10.2.21``)."""
    for site in site_dirs:
        for meta in sorted(Path(site).glob(f"{dist}-*.dist-info/METADATA")):
            for line in read(meta).splitlines():
                if not line.startswith("Requires-Dist:"):
                    if not line.strip():
                        break  # the body starts: no more headers
                    continue
                m = re.match(r"Requires-Dist:\s*([A-Za-z0-9_.-]+)\s*==\s*([\w.+]+)", line)
                if m and m.group(1).lower().startswith(tuple(prefixes)):
                    return m.group(2)
    return None


def from_headers(site_dirs: Sequence[str]) -> Iterator[Component]:
    """cuDNN and NCCL versions from the headers the `nvidia-*` wheels ship."""
    for site in site_dirs:
        root = Path(site) / "nvidia"
        if not root.is_dir():
            continue
        for header in sorted(root.glob("*/include/cudnn_version.h")):
            version = parse_cudnn_version_h(read(header))
            if version:
                yield Component("cudnn", version, f"header {header}")
        for header in sorted(root.glob("*/include/nccl.h")):
            version = parse_nccl_h(read(header))
            if version:
                yield Component("nccl", version, f"header {header}")


def _toolkit_root(environ: Mapping[str, str]) -> Path | None:
    for candidate in (environ.get("CUDA_HOME"), environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


# Where a distribution's libcudnn-dev / libnccl-dev put their headers.
SYSTEM_INCLUDE = Path("/usr/include")


def _cuda_h_version(path: Path) -> str | None:
    """`parse_cuda_h` of *path*, kept by `_filecache` until the file changes: scanning its head
    (64 KiB of a 1 MB header) for defines was a tenth of each check on a machine with a
    toolkit."""
    from ._filecache import cached

    try:
        found = cached("cuda-h", path, lambda p: parse_cuda_h(read(p)) or "", _is_str)
    except OSError:  # no cuda.h
        return None
    return str(found) or None


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def from_system_toolkit(environ: Mapping[str, str]) -> Iterator[Component]:
    """The system CUDA toolkit: version.json, else version.txt, else `cuda.h`; plus headers."""
    root = _toolkit_root(environ)
    if root is None:
        return
    versions = parse_version_json(read(root / "version.json"))
    where = f"system {root}"
    if versions.get("cuda"):
        yield Component("cuda-toolkit", versions["cuda"], f"{where}/version.json")
        for key, name in (("cuda_cudart", "cuda-runtime"), ("libcublas", "cublas")):
            if versions.get(key):
                yield Component(name, versions[key], f"{where}/version.json")
    else:
        txt = parse_version_txt(read(root / "version.txt"))
        header = _cuda_h_version(root / "include" / "cuda.h")
        if txt:
            yield Component("cuda-toolkit", txt, f"{where}/version.txt")
        elif header:
            yield Component("cuda-toolkit", header, f"{where}/include/cuda.h")
    for inc in (root / "include", SYSTEM_INCLUDE):
        cudnn = parse_cudnn_version_h(read(inc / "cudnn_version.h"))
        if cudnn:
            yield Component("cudnn", cudnn, f"header {inc / 'cudnn_version.h'}")
        nccl = parse_nccl_h(read(inc / "nccl.h"))
        if nccl:
            yield Component("nccl", nccl, f"header {inc / 'nccl.h'}")
