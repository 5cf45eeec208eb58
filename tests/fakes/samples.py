"""Environments for the render tests: CPU, pip-CUDA, system-CUDA and conda captures."""

from __future__ import annotations

import hashlib

from envsnap.model import (
    ArtifactFile,
    Component,
    CondaEnv,
    CondaPackage,
    CudaStack,
    Environment,
    FrameworkBuild,
    OSInfo,
    Package,
    PythonInfo,
)

PYPI = "https://pypi.org/simple"
FILES = "https://files.pythonhosted.org/packages/ab/cd"
CREATED = "2026-11-20T10:00:00Z"
LOCK_DIGEST = "5" * 64
REVISION = "0123456789abcdef0123456789abcdef01234567"
SOURCE = "https://github.com/example/project"


def sha(seed: str) -> str:
    """A fixed, valid-looking sha256 derived from *seed*."""
    return hashlib.sha256(seed.encode()).hexdigest()


def wheel(name: str, version: str, tag: str = "py3-none-any") -> ArtifactFile:
    """A hashed wheel on files.pythonhosted.org."""
    fname = f"{name.replace('-', '_')}-{version}-{tag}.whl"
    return ArtifactFile(name=fname, url=f"{FILES}/{fname}", sha256=sha(fname))


def index_pkg(name: str, version: str, tag: str = "py3-none-any", index: str = PYPI) -> Package:
    """A package installed from an index, with one wheel."""
    return Package(
        name=name, version=version, source="index", index=index, files=(wheel(name, version, tag),)
    )


def python(version: str = "3.11.7") -> PythonInfo:
    """CPython *version* on x86_64 Linux."""
    return PythonInfo(
        implementation="CPython",
        version=version,
        platform_tags=("cp311-cp311-manylinux_2_28_x86_64", "py3-none-any"),
    )


DEBIAN = OSInfo(
    system="Linux",
    machine="x86_64",
    distro="debian",
    version="12",
    codename="bookworm",
    pretty_name="Debian GNU/Linux 12 (bookworm)",
)
UBUNTU = OSInfo(
    system="Linux",
    machine="x86_64",
    distro="ubuntu",
    version="22.04",
    codename="jammy",
    pretty_name="Ubuntu 22.04.4 LTS",
)
ENVVARS = (("CUBLAS_WORKSPACE_CONFIG", ":4096:8"), ("PYTHONHASHSEED", "0"))


def cpu_env() -> Environment:
    """A CPU capture: numpy, requests and friends, one determinism variable."""
    pkgs = (
        index_pkg("numpy", "2.1.3", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"),
        index_pkg("requests", "2.32.3"),
        index_pkg("urllib3", "2.2.3"),
        index_pkg("pip", "24.0"),
    )
    return Environment(
        python=python(),
        os=DEBIAN,
        packages=pkgs,
        envvars=(("PYTHONHASHSEED", "0"),),
        created_at=CREATED,
    )


def pip_cuda_env() -> Environment:
    """torch with CUDA from nvidia-* wheels: the heavy layer comes first."""
    tag = "py3-none-manylinux_2_27_x86_64"
    pkgs = (
        index_pkg("torch", "2.8.0", "cp311-cp311-manylinux_2_28_x86_64"),
        index_pkg("nvidia-cudnn-cu12", "9.10.2.21", tag),
        index_pkg("nvidia-cublas-cu12", "12.8.4.1", tag),
        index_pkg("triton", "3.4.0", "cp311-cp311-manylinux_2_27_x86_64"),
        index_pkg("numpy", "2.1.3", "cp311-cp311-manylinux_2_17_x86_64"),
        index_pkg("filelock", "3.16.1"),
    )
    cuda = CudaStack(
        frameworks=(FrameworkBuild(name="torch", version="2.8.0", cuda="12.8", cudnn="9.10.2"),),
        components=(
            Component(
                name="cuda-runtime", version="12.8.90", source="wheel nvidia-cuda-runtime-cu12"
            ),
            Component(
                name="cudnn",
                version="9.10.2",
                source="header /opt/venv/lib/python3.11/site-packages/nvidia/cudnn/include/"
                "cudnn_version.h",
            ),
        ),
    )
    return Environment(
        python=python(), os=DEBIAN, packages=pkgs, cuda=cuda, envvars=ENVVARS, created_at=CREATED
    )


def system_cuda_env() -> Environment:
    """A system CUDA toolkit (nvcc) with cuDNN 9 on Ubuntu 22.04: the nvidia/cuda devel image."""
    pkgs = (
        index_pkg("cupy-cuda12x", "13.3.0", "cp311-cp311-manylinux2014_x86_64"),
        index_pkg("numpy", "2.1.3", "cp311-cp311-manylinux_2_17_x86_64"),
        index_pkg("fastrlock", "0.8.2", "cp311-cp311-manylinux_2_17_x86_64"),
    )
    cuda = CudaStack(
        components=(
            Component(name="cuda-runtime", version="12.4.1", source="system /usr/local/cuda-12.4"),
            Component(name="cuda-toolkit", version="12.4.1", source="system /usr/local/cuda-12.4"),
            Component(name="cudnn", version="9.1.0", source="system /usr/lib/x86_64-linux-gnu"),
        )
    )
    return Environment(
        python=python(), os=UBUNTU, packages=pkgs, cuda=cuda, envvars=ENVVARS, created_at=CREATED
    )


def conda_env() -> Environment:
    """A conda environment with one pip package on top."""
    conda = CondaEnv(
        platform="linux-64",
        channels=("https://conda.anaconda.org/conda-forge",),
        packages=(
            CondaPackage(
                name="python",
                version="3.11.7",
                build="hab00c5b_1_cpython",
                channel="conda-forge",
                sha256=sha("python"),
            ),
            CondaPackage(
                name="numpy",
                version="1.26.4",
                build="py311h64a7726_0",
                channel="conda-forge",
                sha256=sha("numpy"),
            ),
        ),
    )
    pkgs = (index_pkg("tqdm", "4.67.1"),)
    return Environment(python=python(), os=DEBIAN, packages=pkgs, conda=conda, created_at=CREATED)
