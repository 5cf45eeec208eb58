"""An Environment with every package kind envsnap records, for the lock format tests."""

from __future__ import annotations

from envsnap.model import (
    ArtifactFile,
    BlasInfo,
    Component,
    CudaStack,
    Environment,
    FrameworkBuild,
    OSInfo,
    Package,
    PythonInfo,
)

H = "0123456789abcdef" * 4

LINUX = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"


def environment() -> Environment:
    """An Environment with every package kind envsnap records."""
    files = (
        ArtifactFile(
            name="numpy-2.1.0-cp311-cp311-macosx_14_0_arm64.whl",
            url="https://files.example/numpy-2.1.0-cp311-cp311-macosx_14_0_arm64.whl",
            sha256=H.replace("0", "1"),
            size=5,
            upload_time="2024-08-18T21:12:00.500000Z",
        ),
        ArtifactFile(
            name=f"numpy-2.1.0-{LINUX}.whl",
            url=f"https://files.example/numpy-2.1.0-{LINUX}.whl",
            sha256=H,
            size=16000000,
            upload_time="2024-08-18T21:14:02Z",
        ),
        ArtifactFile(
            name="numpy-2.1.0.tar.gz",
            url="https://files.example/numpy-2.1.0.tar.gz",
            sha256=H.replace("a", "b"),
            size=100,
        ),
    )
    torch = ArtifactFile(
        name="torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        url="file:///opt/wheels/torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        sha256=H.replace("f", "e"),
        size=191794682,
    )
    packages = (
        Package(
            name="numpy",
            version="2.1.0",
            source="index",
            installer="pip",
            wheel_tags=("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"),
            index="https://pypi.org/simple",
            installed_file=files[1].name,
            files=files,
        ),
        Package(
            name="torch",
            version="2.13.0+cpu",
            source="index",
            requested=True,
            installer="pip",
            wheel_tags=("cp311-cp311-manylinux_2_28_x86_64",),
            index="file:///opt/wheels",
            installed_file=torch.name,
            files=(torch,),
        ),
        Package(
            name="archive",
            version="1.0",
            source="url",
            installer="uv",
            url="https://example.org/archive-1.0.tar.gz",
            archive_sha256=H,
            subdirectory="py",
        ),
        Package(
            name="from-git",
            version="0.3.dev1",
            source="vcs",
            requested=True,
            installer="pip",
            url="https://github.com/o/r.git",
            vcs="git",
            commit_id="c" * 40,
            requested_revision='release/"v1" \u00e9',
            wheel_tags=("py3-none-any",),
        ),
        Package(
            name="mine",
            version="0.1",
            source="editable",
            requested=True,
            url="file:///home/me/src/mine",
        ),
        Package(name="spaced", version="1.0", source="directory", url="file:///tmp/a%20b/c"),
        Package(
            name="odd-version",
            version="1.0-1",
            source="url",
            url="https://example.org/odd_version-1.0-1.tar.gz",
            archive_sha256=H,
        ),
        Package(
            name="offline-only",
            version="3.2",
            source="index",
            installer="pip",
            wheel_tags=("py3-none-any",),
        ),
        Package(name="no-hash", version="1", source="url", url="https://example.org/no_hash-1.zip"),
    )
    return Environment(
        python=PythonInfo(
            implementation="cpython",
            version="3.11.7",
            abi="cp311",
            platform_tags=("manylinux_2_36_x86_64", "linux_x86_64"),
        ),
        os=OSInfo(
            system="Linux",
            machine="x86_64",
            distro="debian",
            version="12",
            libc="glibc",
            libc_version="2.36",
            container="docker",
        ),
        packages=tuple(sorted(packages, key=lambda p: p.name)),
        unhashed=("no-hash", "offline-only"),
        cuda=CudaStack(
            frameworks=(FrameworkBuild(name="torch", version="2.13.0+cpu"),),
            components=(Component(name="nccl", version="2.21.5", source="nvidia-nccl-cu12"),),
        ),
        blas=(BlasInfo(owner="numpy", name="scipy-openblas", version="0.3.27"),),
        envvars=(("CUBLAS_WORKSPACE_CONFIG", ":4096:8"), ("PYTHONHASHSEED", "0")),
        created_at="2026-11-25T20:00:00Z",
        created_by="envsnap 0.1.0",
    )
