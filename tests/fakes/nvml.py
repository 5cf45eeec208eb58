"""Test fake: a compiled stand-in for ``libnvidia-ml.so.1`` (fixtures registered in conftest).

`fake_nvml` compiles tests/fakes/fake_nvml.c with gcc once per session and returns a
`FakeNVML` whose ``env(...)`` gives the environment for a subprocess (``LD_LIBRARY_PATH`` plus
``FAKE_NVML_*``) in which envsnap's NVML binding (or pynvml) loads the fake and sees the machine
described::

    result = cli("capture", "-o", str(tmp_path), env=fake_nvml.env(gpus=8, cc="8.0"))
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SOURCE = Path(__file__).with_name("fake_nvml.c")

# Realistic presets: (name, memory MiB, compute capability).
A100_80GB = ("NVIDIA A100-SXM4-80GB", 81920, "8.0")
H100_80GB = ("NVIDIA H100 80GB HBM3", 81559, "9.0")
T4 = ("Tesla T4", 15360, "7.5")


def real_nvml_present() -> bool:
    """True when the system itself can load a libnvidia-ml.so.1 (a real NVIDIA driver)."""
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class FakeNVML:
    """The compiled fake: its folder and a builder of subprocess environments."""

    directory: Path

    @property
    def library(self) -> Path:
        """The compiled ``libnvidia-ml.so.1``."""
        return self.directory / "libnvidia-ml.so.1"

    def env(
        self,
        gpus: int = 1,
        name: str = A100_80GB[0],
        memory_mib: int = A100_80GB[1],
        cc: str = A100_80GB[2],
        driver: str = "535.104.05",
        cuda: int = 12020,
        arch: int | str | None = None,
        mig: int | None = None,
        ecc: int | None = None,
        sm_count: int | str | None = None,
        init_error: int | None = None,
        devices: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, str]:
        """Environment variables that make a subprocess see this machine through NVML.

        ``arch=None`` derives the NVML architecture from *cc*; ``arch="none"`` makes the query
        NOT_SUPPORTED. ``mig``/``ecc``/``sm_count`` None → NOT_SUPPORTED (``sm_count="error:N"``
        → NVML error N). ``devices[i]`` overrides keys (name, memory_mib, cc, arch, mig, ecc,
        sm_count, uuid) for device *i*.
        """
        settings: dict[str, Any] = {
            "GPUS": gpus,
            "NAME": name,
            "MEMORY_MIB": memory_mib,
            "CC": cc,
            "DRIVER": driver,
            "CUDA": cuda,
            "ARCH": arch,
            "MIG": mig,
            "ECC": ecc,
            "SM_COUNT": sm_count,
            "INIT_ERROR": init_error,
        }
        for index, overrides in enumerate(devices):
            for key, value in overrides.items():
                settings[f"{key.upper()}_{index}"] = value
        out = {f"FAKE_NVML_{k}": str(v) for k, v in settings.items() if v is not None}
        inherited = os.environ.get("LD_LIBRARY_PATH")
        out["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(self.directory), inherited]))
        return out


def build(directory: Path) -> FakeNVML:
    """Compile the fake into *directory* (raises CalledProcessError on a compiler error)."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise FileNotFoundError("gcc")
    directory.mkdir(parents=True, exist_ok=True)
    fake = FakeNVML(directory)
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(fake.library), str(SOURCE)],
        check=True,
        capture_output=True,
        text=True,
    )
    return fake


@pytest.fixture(scope="session")
def fake_nvml(tmp_path_factory: pytest.TempPathFactory) -> FakeNVML:
    """The compiled NVML stand-in, built once per test session (skips when gcc is missing)."""
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("gcc is not installed: cannot compile the libnvidia-ml.so.1 stand-in")
    return build(tmp_path_factory.mktemp("fake-nvml"))
