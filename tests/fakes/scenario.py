"""Scenario builders for the CLI and API tests: a CUDA 12.2 toolkit folder, real venvs holding a
CUDA torch build (real-format files, no GPU needed), and captures taken under the NVML fake."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.fakes.sitepackages import write_dist_info

# torch 2.2.0+cu121 as the recorded job had it, shipping cubins up to Ampere only (no sm_90,
# no PTX): runs on A100 (8.0), has no kernel image for H100 (9.0).
TORCH_ARCH = b"sm_70 sm_75 sm_80 sm_86"
DATA = Path(__file__).resolve().parents[1] / "data"
CPUINFO = {"xeon": "x86_64-xeon-8480-2socket-ht.txt", "epyc": "x86_64-amd-epyc-2cpu.txt"}
DETERMINISM = {"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "PYTHONHASHSEED": "0"}


def make_toolkit(root: Path) -> Path:
    """A system CUDA 12.2 toolkit folder as NVIDIA's installer lays out `version.json`."""
    root.mkdir(parents=True, exist_ok=True)
    versions = {
        "cuda": {"name": "CUDA SDK", "version": "12.2.2"},
        "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "12.2.140"},
        "libcublas": {"name": "CUDA cuBLAS", "version": "12.2.5.6"},
    }
    (root / "version.json").write_text(json.dumps(versions, indent=3))
    return root


def site_packages(venv: Path) -> Path:
    """The venv's purelib folder."""
    return venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def make_demo_venv(venv: Path, demo_version: str) -> Path:
    """A real venv (no pip) holding torch 2.2.0+cu121 files and `demo-pkg` at *demo_version*."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = site_packages(venv)
    write_dist_info(site, "torch", "2.2.0+cu121", tags=("cp311-cp311-linux_x86_64",))
    torch = site / "torch"
    (torch / "lib").mkdir(parents=True)
    (torch / "__init__.py").write_text("")
    (torch / "version.py").write_text(
        "from typing import Optional\n\n__all__ = ['__version__', 'debug', 'cuda', 'git_version', "
        "'hip']\n__version__ = '2.2.0+cu121'\ndebug = False\ncuda: Optional[str] = '12.1'\n"
        "git_version = '8ac9b20d4b090c213799e81acf48a55ea8d437d6'\nhip: Optional[str] = None\n"
    )
    (torch / "lib" / "libtorch_cuda.so").write_bytes(
        b"\x7fELF\x02\x01\x01" + b"\0" * 64 + TORCH_ARCH + b"\0" + b"\0" * 64
    )
    write_dist_info(site, "demo-pkg", demo_version, requested=True)
    return venv / "bin" / "python"


def make_proc(root: Path, cpu: str, ram_factor: float = 1.0) -> Path:
    """A stand-in for /proc (ENVSNAP_PROC_ROOT): a recorded cpuinfo and a scaled meminfo."""
    proc = root / f"proc-{cpu}-{ram_factor}"
    if not proc.is_dir():
        proc.mkdir(parents=True)
        (proc / "cpuinfo").write_bytes((DATA / "cpuinfo" / CPUINFO[cpu]).read_bytes())
        meminfo = (DATA / "meminfo" / "debian12-24g.txt").read_text()
        total = int(re.search(r"^MemTotal:\s+(\d+) kB$", meminfo, re.MULTILINE).group(1))  # type: ignore[union-attr]
        scaled = f"MemTotal:       {int(total * ram_factor)} kB"
        (proc / "meminfo").write_text(re.sub(r"^MemTotal:.*$", scaled, meminfo, flags=re.MULTILINE))
    return proc


def machine(
    fake_nvml: Any,
    toolkit: Path,
    kind: str = "a100",
    *,
    cpu: str | None = None,
    ram_factor: float = 1.0,
    **kw: Any,
) -> dict[str, str]:
    """Subprocess environment for one machine: NVML fake preset, the toolkit, the variables,
    and with *cpu* a /proc stand-in (``xeon``: Sapphire Rapids AVX-512; ``epyc``: AMD AVX2)."""
    presets: dict[str, dict[str, Any]] = {
        "a100": {"gpus": 8},
        "h100": {"gpus": 4, "name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "cc": "9.0"},
        "v100": {"gpus": 8, "name": "Tesla V100-SXM2-32GB", "memory_mib": 32768, "cc": "7.0"},
    }
    env = dict(fake_nvml.env(**{**presets.get(kind, {}), **kw})) if kind != "none" else {}
    if kind == "none":
        env["LD_LIBRARY_PATH"] = ""
    env.update(
        {
            "CUDA_HOME": str(toolkit),
            "SOURCE_DATE_EPOCH": "1767225600",
            "ENVSNAP_CACHE_DIR": str(toolkit.parent / "cache"),
        }
    )
    if cpu is not None:
        env["ENVSNAP_PROC_ROOT"] = str(make_proc(toolkit.parent, cpu, ram_factor))
    env.update(DETERMINISM)
    return env


def envsnap(
    *args: str, env: Mapping[str, str], unset: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI like the `cli` fixture, with *env* layered over this environment and
    *unset* removed from it (a variable set to "" would still count as set)."""
    full = {k: v for k, v in os.environ.items() if k not in unset and k != "PYTHONHASHSEED"}
    full.update({k: v for k, v in env.items() if k not in unset})
    full["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        check=False,
    )


def capture(out: Path, python: Path, env: Mapping[str, str]) -> Path:
    """`envsnap capture --offline` of *python* into *out* (asserting success)."""
    result = envsnap("capture", "--offline", "-q", "-o", str(out), "--python", str(python), env=env)
    assert result.returncode == 0, result.stderr
    return out


def check_json(
    directory: Path,
    python: Path,
    env: Mapping[str, str],
    *extra: str,
    unset: Sequence[str] = (),
) -> tuple[int, dict[str, Any]]:
    """`envsnap check DIR --json --python PY`: (exit code, parsed envelope)."""
    result = envsnap(
        "check", str(directory), "--json", "--python", str(python), *extra, env=env, unset=unset
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def codes(envelope: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """{(severity, category, code)} of a JSON envelope."""
    return {(f["severity"], f["category"], f["code"]) for f in envelope["findings"]}


def edit(path: Path, pattern: str, replacement: str) -> None:
    """Hand-edit a capture file (a regex substitution that must match)."""
    text = path.read_text()
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"{pattern!r} not in {path}"
    path.write_text(new)
