"""GPU rules: presence, driver loaded, count/model/arch/SM/MIG changes, kernels for the GPU."""

from __future__ import annotations

import pytest

from envsnap import model
from envsnap.checks.rules import gpu
from envsnap.model import CudaStack, FrameworkBuild, GPUs
from tests.fakes.snapshots import codes, gpus, snapshot

H100 = {
    "name": "NVIDIA H100 80GB HBM3",
    "cc": "9.0",
    "architecture": "Hopper",
    "multiprocessor_count": 132,
    "memory_total_bytes": 81559 * 1024**2,
}


@pytest.mark.parametrize(
    ("cc", "arch", "expected"),
    [
        ("8.0", ("sm_80",), "cubin"),
        ("8.6", ("sm_80",), "cubin"),  # same major, higher minor runs sm_80 cubins
        ("8.9", ("sm_86",), "cubin"),
        ("8.0", ("sm_86",), None),  # lower minor cannot
        ("9.0", ("sm_80", "sm_86"), None),  # other major, no PTX
        ("9.0", ("sm_80", "compute_80"), "ptx"),  # PTX JITs to any later CC
        ("12.0", ("sm_90",), None),  # Blackwell consumer cannot use sm_90 cubins
        ("9.0", ("sm_90a",), "cubin"),
        ("10.0", ("sm_90a", "compute_90a"), None),  # arch-specific is not portable
        ("10.3", ("sm_100f",), "cubin"),  # family-specific within the major
        ("8.6", ("8.0+PTX",), "cubin"),  # TORCH_CUDA_ARCH_LIST style
        ("9.0", ("8.0+PTX",), "ptx"),
    ],
)
def test_arch_support(cc: str, arch: tuple[str, ...], expected: str | None) -> None:
    assert gpu.arch_support(cc, arch) == expected


def _with_torch(arch: tuple[str, ...], cuda: str = "12.1", version: str = "2.2.0") -> dict:
    return {
        "cuda": CudaStack(frameworks=(FrameworkBuild("torch", version, cuda=cuda, arch_list=arch),))
    }


def test_framework_without_kernels_for_the_gpu_is_an_error() -> None:
    recorded = snapshot(env=_with_torch(("sm_70", "sm_75", "sm_80", "sm_86")))
    current = snapshot(
        env=_with_torch(("sm_70", "sm_75", "sm_80", "sm_86")), hw={"gpus": gpus(4, **H100)}
    )
    (finding,) = gpu.framework_arch(recorded, current)
    assert (finding.severity, finding.category, finding.code) == (
        "error",
        "gpu",
        "gpu.arch-unsupported",
    )
    assert finding.actual == "sm_90"
    assert "H100" in finding.message


def test_ptx_only_is_a_warning() -> None:
    env = _with_torch(("sm_80", "compute_80"))
    current = snapshot(env=env, hw={"gpus": gpus(4, **H100)})
    assert codes(gpu.framework_arch(snapshot(env=env), current)) == {("warning", "gpu.ptx-jit")}


def test_arch_list_falls_back_to_knowledge_for_official_wheels() -> None:
    # torch 2.8 cu128 wheels ship sm_70..sm_120 without PTX: a Pascal P100 (6.0) has no kernels.
    env = _with_torch((), cuda="12.8", version="2.8.0+cu128")
    p100 = {"name": "Tesla P100-PCIE-16GB", "cc": "6.0"}
    current = snapshot(env=env, hw={"gpus": gpus(1, **p100)})
    assert codes(gpu.framework_arch(snapshot(env=env), current)) == {
        ("error", "gpu.arch-unsupported")
    }


def test_cpu_only_build_is_not_checked() -> None:
    env = {"cuda": CudaStack(frameworks=(FrameworkBuild("torch", "2.13.0+cpu"),))}
    assert gpu.framework_arch(snapshot(env=env), snapshot(env=env)) == []


def test_no_gpu_where_the_capture_had_eight() -> None:
    current = snapshot(hw={"gpus": GPUs(status="none", reason="libnvidia-ml.so.1 not found")})
    (finding,) = gpu.gpu_present(snapshot(), current)
    assert (finding.severity, finding.category, finding.code) == ("error", "gpu", "gpu.missing")
    assert finding.expected == "8 GPU(s)"


def test_driver_not_loaded() -> None:
    current = snapshot(hw={"gpus": GPUs(status="unavailable", reason="driver not loaded")})
    (finding,) = gpu.gpu_present(snapshot(), current)
    assert (finding.severity, finding.category, finding.code) == (
        "error",
        "driver",
        "driver.not-loaded",
    )
    assert "modprobe nvidia" in finding.remedy


def test_gpus_added_is_info() -> None:
    recorded = snapshot(hw={"gpus": GPUs()})
    assert codes(gpu.gpu_present(recorded, snapshot())) == {("info", "gpu.added")}
    assert gpu.gpu_present(recorded, recorded) == []


def test_count_and_architecture_changes_are_warnings() -> None:
    current = snapshot(hw={"gpus": gpus(4, **H100)})
    assert codes(gpu.gpu_changes(snapshot(), current)) == {
        ("warning", "gpu.count"),
        ("warning", "gpu.arch-changed"),
    }


def test_model_change_within_an_architecture() -> None:
    a100_40 = {"name": "NVIDIA A100-SXM4-40GB"}
    current = snapshot(hw={"gpus": gpus(8, **a100_40)})
    assert codes(gpu.gpu_changes(snapshot(), current)) == {("warning", "gpu.model-changed")}


def test_sm_count_mig_and_ecc() -> None:
    current = snapshot(hw={"gpus": gpus(8, multiprocessor_count=98, mig_mode=True, ecc_mode=False)})
    assert codes(gpu.gpu_changes(snapshot(), current)) == {
        ("warning", "gpu.sm-count"),
        ("warning", "gpu.mig"),
        ("info", "gpu.ecc"),
    }


def test_unknown_mig_mode_is_not_a_change() -> None:
    current = snapshot(hw={"gpus": gpus(8, mig_mode=None)})
    assert gpu.gpu_changes(snapshot(), current) == []


def test_unknown_hardware_is_not_a_missing_gpu() -> None:

    current = model.replace(snapshot(), hardware=None)
    assert gpu.gpu_present(snapshot(), current) == []
    assert gpu.gpu_changes(snapshot(), current) == []
