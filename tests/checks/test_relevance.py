"""Severity follows relevance: a CUDA component nothing loads never makes an error or warning."""

from __future__ import annotations

from envsnap import cudause, model
from envsnap.checks.rules import cuda
from envsnap.checks.runner import run
from envsnap.model import Component, CudaStack, FrameworkBuild, Package
from tests.fakes.snapshots import codes, gpus, snapshot

TOOLKIT_13 = Component("cuda-toolkit", "13.0", "system /usr/local/cuda (CUDA_HOME)")
NVCC_13 = Component("nvcc", "13.0.88", "PATH /usr/local/bin/nvcc (compiler only)")
CPU_TORCH = FrameworkBuild("torch", "2.8.0+cpu", cuda=None)
CPU_PACKAGES = (Package("torch", "2.8.0+cpu", source="index"),)


def _cpu_capture(*components: Component, driver_cuda: str = "12.2") -> model.Snapshot:
    return snapshot(
        env={
            "packages": CPU_PACKAGES,
            "cuda": CudaStack(frameworks=(CPU_TORCH,), components=components),
        },
        hw={"gpus": gpus(driver="535.104.05", cuda=driver_cuda)},
    )


def test_a_toolkit_nothing_uses_is_not_used() -> None:
    snap = _cpu_capture(TOOLKIT_13, NVCC_13)
    assert cudause.used_components(snap.environment) == frozenset()
    assert cudause.system_cuda(snap.environment) is None
    assert cuda.required_cuda(snap.environment) is None


def test_cpu_torch_beside_a_newer_system_toolkit_checks_clean_on_the_same_machine() -> None:
    # The machine: toolkit 13.0 on the host, a driver for CUDA 12.2, CPU-only torch.
    snap = _cpu_capture(TOOLKIT_13, NVCC_13)
    assert run(snap, snap).findings == ()


def test_an_image_without_the_unused_toolkit_gets_info_only() -> None:
    recorded = _cpu_capture(TOOLKIT_13, NVCC_13)
    image = _cpu_capture()
    found = run(recorded, image)
    assert codes(found) == {("info", "cuda.cuda-toolkit-changed"), ("info", "cuda.nvcc-changed")}
    assert all("nothing in the capture loads it" in f.message for f in found.findings)


def test_a_toolkit_added_beside_a_cpu_environment_is_info() -> None:
    found = run(_cpu_capture(), _cpu_capture(TOOLKIT_13))
    assert codes(found) == {("info", "cuda.added")}


def test_a_toolkit_the_framework_loads_stays_a_driver_error() -> None:
    # torch built for CUDA 13 with no runtime wheel loads the system toolkit 13.0: the R535
    # driver (CUDA 12.2) cannot run it.
    torch13 = FrameworkBuild("torch", "2.9.0", cuda="13.0")
    snap = snapshot(
        env={
            "packages": (Package("torch", "2.9.0", source="index"),),
            "cuda": CudaStack(frameworks=(torch13,), components=(TOOLKIT_13, NVCC_13)),
        },
        hw={"gpus": gpus(driver="535.104.05", cuda="12.2")},
    )
    assert cudause.used_components(snap.environment) == {"cuda-toolkit", "nvcc"}
    assert ("error", "driver.too-old") in codes(run(snap, snap))
    # ... and losing that toolkit is a warning, not info.
    gone = model.replace(
        snap, environment=model.replace(snap.environment, cuda=CudaStack(frameworks=(torch13,)))
    )
    assert ("warning", "cuda.cuda-toolkit-changed") in codes(run(snap, gone))


def test_a_toolkit_of_another_major_than_the_framework_build_is_not_loaded() -> None:
    torch12 = FrameworkBuild("torch", "2.2.0", cuda="12.1")
    env = snapshot(
        env={"cuda": CudaStack(frameworks=(torch12,), components=(TOOLKIT_13,))}
    ).environment
    assert cudause.used_components(env) == frozenset()
    need = cuda.required_cuda(env)
    assert need is not None and need[0] == (12, 1)


def test_a_driver_change_with_nothing_on_the_gpu_is_info() -> None:
    recorded = _cpu_capture()
    current = model.replace(
        recorded,
        hardware=model.replace(recorded.hardware, gpus=gpus(driver="550.54.15", cuda="12.4")),
    )
    assert codes(cuda.driver_changed(recorded, current)) == {("info", "driver.changed")}


def test_no_gpu_here_is_info_for_a_cpu_only_capture_and_an_error_for_a_cuda_one() -> None:
    from envsnap.model import GPUs

    no_gpu = {"gpus": GPUs(status="none", reason="libnvidia-ml.so.1 not found")}
    cpu = _cpu_capture()
    cpu_here = model.replace(cpu, hardware=model.replace(cpu.hardware, **no_gpu))
    assert codes(run(cpu, cpu_here)) == {("info", "gpu.missing")}
    cuda_capture = snapshot()  # torch 2.2.0+cu121 on 8x A100
    cuda_here = model.replace(cuda_capture, hardware=model.replace(cuda_capture.hardware, **no_gpu))
    assert ("error", "gpu.missing") in codes(run(cuda_capture, cuda_here))


def test_less_gpu_memory_is_info_for_a_cpu_only_capture() -> None:
    cpu = _cpu_capture()
    small = model.replace(
        cpu, hardware=model.replace(cpu.hardware, gpus=gpus(memory_total_bytes=16 * 1024**3))
    )
    assert ("info", "memory.gpu") in codes(run(cpu, small))
    cuda_capture = snapshot()
    small_cuda = model.replace(
        cuda_capture,
        hardware=model.replace(cuda_capture.hardware, gpus=gpus(memory_total_bytes=16 * 1024**3)),
    )
    assert ("error", "memory.gpu") in codes(run(cuda_capture, small_cuda))


def test_rebuild_picks_no_toolkit_image_for_a_toolkit_of_another_major() -> None:
    from envsnap.render.baseimage import choose

    torch12 = FrameworkBuild("torch", "2.2.0", cuda="12.1")
    env = snapshot(
        env={"cuda": CudaStack(frameworks=(torch12,), components=(TOOLKIT_13, NVCC_13))}
    ).environment
    base = choose(env)
    assert base.kind == "python"
    assert "bring their own CUDA libraries" in base.reason
    cpu = _cpu_capture(TOOLKIT_13, NVCC_13).environment
    assert "CPU-only capture" in choose(cpu).reason
