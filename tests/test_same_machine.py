"""The same-machine invariant, as a property over many stand-in machines.

For any machine M, `envsnap check` of a capture made on M, run on M in the same environment, has
no error and no warning. Each case draws one machine from a seeded generator: GPUs through the
compiled NVML stand-in (none, A100, H100, T4, V100, MIG on, mixed devices, NVML failing to start,
queries NOT_SUPPORTED or failing), a driver for CUDA 12.2, 12.4 or 13.0, a system toolkit
(none, 12.2, 13.0), nvcc on PATH (none, 12.2, 13.0), the determinism variables set or not, an
Intel or AMD CPU, and a target environment (venv or conda prefix; CPU-only torch, torch for
CUDA 12.1 with its own runtime wheel or bundled libraries, no framework at all).

The generator draws only machines on which the captured environment can run (the framework's
CUDA build fits the driver and its arch list covers the GPUs): a capture of an environment that
cannot run on its own machine is reported by design.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomllib

from tests.fakes import venvs
from tests.fakes.scenario import DATA, DETERMINISM, envsnap, make_proc, site_packages
from tests.fakes.sitepackages import write_dist_info

CASES = 32
# The issue's machine first: CPU-only torch, toolkit 13.0 and nvcc 13.0, a driver for CUDA 12.2.
ISSUE_MACHINE: dict[str, Any] = {
    "gpus": "a100",
    "driver": ("535.104.05", 12020),
    "toolkit": "13.0",
    "nvcc": "13.0",
    "determinism": False,
    "cpu": "xeon",
    "target": "cpu-torch",
}
GPUS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "a100": {"gpus": 8},
    "h100": {"gpus": 4, "name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "cc": "9.0"},
    "t4": {"gpus": 1, "name": "Tesla T4", "memory_mib": 15360, "cc": "7.5"},
    "v100": {"gpus": 2, "name": "Tesla V100-SXM2-32GB", "memory_mib": 32768, "cc": "7.0"},
    "a100-mig": {"gpus": 2, "mig": 1, "ecc": 1},
    "mixed": {
        "gpus": 2,
        "devices": [{}, {"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "cc": "9.0"}],
    },
    "nvml-fails": {"init_error": 9},  # driver not loaded: NVML present, nothing answers
    "queries-fail": {"gpus": 1, "arch": "none", "sm_count": "error:3"},
}
DRIVERS = [("535.104.05", 12020), ("550.54.15", 12040), ("580.65.06", 13000)]
TOOLKITS = {
    "12.2": {"cuda": "12.2.2", "cuda_cudart": "12.2.140", "libcublas": "12.2.5.6"},
    "13.0": {"cuda": "13.0.1", "cuda_cudart": "13.0.88", "libcublas": "13.0.0.19"},
}
NVCC = {"12.2": "12.2.140", "13.0": "13.0.88"}
TARGETS = ("cpu-torch", "cu121-bundled", "cu121-wheels", "no-framework", "conda-cpu-torch")
TORCH_ARCH = b"sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90 compute_90"


def draw(seed: int) -> dict[str, Any]:
    """Machine number *seed*: the issue's machine for 0, else a seeded random one."""
    if seed == 0:
        return dict(ISSUE_MACHINE)
    rng = random.Random(seed)
    return {
        "gpus": rng.choice(sorted(GPUS)),
        "driver": rng.choice(DRIVERS),
        "toolkit": rng.choice([None, *sorted(TOOLKITS)]),
        "nvcc": rng.choice([None, *sorted(NVCC)]),
        "determinism": rng.random() < 0.5,
        "cpu": rng.choice(["xeon", "epyc"]),
        "target": rng.choice(TARGETS),
    }


def _torch(site: Path, cuda: str | None) -> None:
    """torch's files as a wheel installs them: version.py, and for CUDA libtorch_cuda.so."""
    version = "2.2.0+cu121" if cuda else "2.2.0+cpu"
    write_dist_info(site, "torch", version, tags=("cp311-cp311-linux_x86_64",))
    torch = site / "torch"
    (torch / "lib").mkdir(parents=True)
    (torch / "__init__.py").write_text("")
    (torch / "version.py").write_text(
        f"__version__ = '{version}'\ndebug = False\ncuda = {cuda!r}\nhip = None\n"
    )
    if cuda:
        (torch / "lib" / "libtorch_cuda.so").write_bytes(
            b"\x7fELF\x02\x01\x01" + b"\0" * 64 + TORCH_ARCH + b"\0" * 65
        )


def make_target(root: Path, kind: str) -> Path:
    """A real interpreter prefix for *kind* (see TARGETS); returns its python."""
    python = venvs.make_venv(root / kind)
    site = site_packages(root / kind)
    write_dist_info(site, "demo-pkg", "1.0", requested=True)
    if kind in ("cpu-torch", "conda-cpu-torch"):
        _torch(site, None)
    elif kind.startswith("cu121"):
        _torch(site, "12.1")
    if kind == "cu121-wheels":
        write_dist_info(site, "nvidia-cuda-runtime-cu12", "12.1.105")
        write_dist_info(site, "nvidia-cublas-cu12", "12.1.3.1")
    if kind.startswith("conda"):
        meta = root / kind / "conda-meta"
        shutil.copytree(DATA / "conda-meta", meta, ignore=shutil.ignore_patterns("*.md"))
    return python


def make_toolkit(root: Path, version: str) -> Path:
    folder = root / f"cuda-{version}"
    folder.mkdir(parents=True)
    versions = {k: {"name": k, "version": v} for k, v in TOOLKITS[version].items()}
    (folder / "version.json").write_text(json.dumps(versions, indent=3))
    return folder


def make_nvcc(root: Path, version: str) -> Path:
    """A folder holding an `nvcc` that answers --version as NVIDIA's does."""
    folder = root / f"nvcc-{version}"
    folder.mkdir(parents=True)
    release = ".".join(NVCC[version].split(".")[:2])
    script = folder / "nvcc"
    script.write_text(
        "#!/bin/sh\necho 'nvcc: NVIDIA (R) Cuda compiler driver'\n"
        f"echo 'Cuda compilation tools, release {release}, V{NVCC[version]}'\n"
    )
    script.chmod(0o755)
    return folder


@dataclass(frozen=True)
class World:
    root: Path
    fake: Any
    targets: Mapping[str, Path]
    toolkits: Mapping[str, Path]
    nvcc: Mapping[str, Path]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any) -> World:
    root = tmp_path_factory.mktemp("same-machine")
    (root / "no-cuda").mkdir()
    return World(
        root,
        fake_nvml,
        {kind: make_target(root / "targets", kind) for kind in TARGETS},
        {v: make_toolkit(root / "toolkits", v) for v in TOOLKITS},
        {v: make_nvcc(root / "bin", v) for v in NVCC},
    )


def environment(world: World, machine: Mapping[str, Any], cache: Path) -> dict[str, str]:
    """The subprocess environment that makes envsnap see *machine*."""
    preset = GPUS[machine["gpus"]]
    driver, cuda = machine["driver"]
    env: dict[str, str] = {"LD_LIBRARY_PATH": ""}
    if preset is not None:
        env = world.fake.env(**{"driver": driver, "cuda": cuda, **preset})
    path = ["/usr/bin", "/bin"]  # not /usr/local/bin: this host may have an nvcc there
    if machine["nvcc"]:
        path.insert(0, str(world.nvcc[machine["nvcc"]]))
    toolkit = machine["toolkit"]
    env.update(
        {
            "PATH": ":".join(path),
            # No toolkit: an empty folder, so that the host's own /usr/local/cuda is not read.
            "CUDA_HOME": str(world.toolkits[toolkit] if toolkit else world.root / "no-cuda"),
            "ENVSNAP_CACHE_DIR": str(cache),
            "ENVSNAP_PROC_ROOT": str(make_proc(world.root, machine["cpu"])),
        }
    )
    return env


@pytest.mark.parametrize("seed", range(CASES))
def test_a_capture_checks_clean_on_its_own_machine(world: World, seed: int, tmp_path: Path) -> None:
    machine = draw(seed)
    env = environment(world, machine, tmp_path / "cache")
    unset = ["CUDA_PATH", *([] if machine["determinism"] else DETERMINISM)]
    if machine["determinism"]:
        env.update(DETERMINISM)
    python = str(world.targets[machine["target"]])
    out = tmp_path / "envsnap-capture"
    done = envsnap(
        "capture", "--offline", "-q", "-o", str(out), "--python", python, env=env, unset=unset
    )
    assert done.returncode == 0, (machine, done.stderr)
    # The capture saw the machine drawn (the stand-ins were in effect).
    hardware = tomllib.loads((out / "hardware.toml").read_text())
    status = {"none": "none", "nvml-fails": "unavailable"}.get(machine["gpus"], "ok")
    assert hardware["gpus"]["status"] == status, hardware["gpus"]
    lock = (out / "pylock.toml").read_text()
    if machine["toolkit"]:
        assert f'"{TOOLKITS[machine["toolkit"]]["cuda"]}"' in lock
    if machine["nvcc"]:
        assert f'"{NVCC[machine["nvcc"]]}"' in lock
    assert ('name = "nvcc"' in lock) == bool(machine["nvcc"])
    assert ('name = "cuda-toolkit"' in lock) == bool(machine["toolkit"])
    checked = envsnap("check", str(out), "--python", python, "--json", env=env, unset=unset)
    report = json.loads(checked.stdout)
    loud = [f for f in report["findings"] if f["severity"] != "info"]
    assert loud == [], f"machine {seed}: {machine}"
    assert checked.returncode == 0, checked.stderr


def test_the_generator_covers_every_dimension() -> None:
    """The drawn machines cover each value of each dimension (the property is not one example)."""
    drawn = [draw(seed) for seed in range(CASES)]
    assert {m["gpus"] for m in drawn} == set(GPUS)
    assert {m["target"] for m in drawn} == set(TARGETS)
    assert {m["toolkit"] for m in drawn} == {None, *TOOLKITS}
    assert {m["nvcc"] for m in drawn} == {None, *NVCC}
    assert {m["determinism"] for m in drawn} == {True, False}
    assert {m["driver"] for m in drawn} == set(DRIVERS)
