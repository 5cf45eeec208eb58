"""Driver vs CUDA runtime: NVIDIA minimums, minor-version compatibility, NVML's CUDA version."""

from __future__ import annotations

from typing import Any

import pytest

from envsnap import model
from envsnap.checks.rules import cuda
from envsnap.model import Component, CudaStack, FrameworkBuild, GPUs
from tests.fakes.snapshots import codes, environment, gpus, snapshot


@pytest.mark.parametrize(
    ("driver", "nvml_cuda", "expected"),
    [
        ("535.104.05", "12.2", set()),  # the recorded machine
        ("535.54.03", None, set()),  # exactly NVIDIA's minimum for 12.2, table only
        ("530.30.02", "12.1", {("warning", "driver.minor-compat")}),  # >= 525.60.13 floor
        ("525.60.13", "12.0", {("warning", "driver.minor-compat")}),  # exactly the floor
        ("525.60.12", None, {("error", "driver.too-old")}),  # just below the floor
        ("470.82.01", "11.4", {("error", "driver.too-old")}),
    ],
)
def test_driver_minimum_for_cuda_12_2(driver: str, nvml_cuda: str | None, expected: set) -> None:
    recorded = snapshot(
        env={"cuda": CudaStack(frameworks=(FrameworkBuild("torch", "2.1.0", cuda="12.2"),))}
    )
    current = model.replace(
        snapshot(hw={"gpus": gpus(driver=driver, cuda=nvml_cuda)}),
        environment=recorded.environment,
    )
    assert codes(cuda.driver_minimum(recorded, current)) == expected


def test_minor_compat_names_lost_features_and_remedy() -> None:
    recorded = snapshot()  # torch cu121 + cuda-runtime 12.1.105
    current = snapshot(hw={"gpus": gpus(driver="525.85.12", cuda="12.0")})
    (finding,) = cuda.driver_minimum(recorded, current)
    assert finding.category == "driver"
    assert "PTX JIT" in finding.message and "222" in finding.message
    assert finding.expected == ">= 530.30.02"
    assert "525.85.12" in finding.actual
    assert "530.30.02" in finding.remedy


def test_required_runtime_is_the_max_of_framework_wheel_and_toolkit() -> None:
    env = environment(
        cuda=CudaStack(
            frameworks=(FrameworkBuild("torch", "2.2.0", cuda="12.1"),),
            components=(
                Component("cuda-runtime", "12.1.105", "nvidia-cuda-runtime-cu12"),
                Component("cuda-toolkit", "12.4.1", "system"),
                Component("nvcc", "12.6.20", "PATH"),  # not what the process loads
            ),
        )
    )
    need = cuda.required_cuda(env)
    assert need is not None and need[0] == (12, 4) and "cuda-toolkit" in need[1]


def test_nvml_raw_integer_version_is_understood() -> None:
    assert cuda.parse_nvml_cuda("12020") == (12, 2)
    assert cuda.parse_nvml_cuda("13000") == (13, 0)
    assert cuda.parse_nvml_cuda("12.8") == (12, 8)
    assert cuda.parse_nvml_cuda(None) is None


def test_nvml_cuda_version_below_runtime_even_when_driver_string_is_new() -> None:
    # A driver whose libcuda reports 11.4 (e.g. a mismatched user-space library) cannot run 12.1.
    current = snapshot(hw={"gpus": gpus(driver="535.104.05", cuda="11.4")})
    assert codes(cuda.driver_minimum(snapshot(), current)) == {("warning", "driver.minor-compat")}


def test_no_gpu_no_driver_check() -> None:
    current = snapshot(hw={"gpus": GPUs(status="none", reason="libnvidia-ml.so.1 not found")})
    assert cuda.driver_minimum(snapshot(), current) == []


def test_cuda_13_runtime_on_r535_is_an_error() -> None:
    recorded = snapshot(
        env={"cuda": CudaStack(frameworks=(FrameworkBuild("torch", "2.9.0", cuda="13.0"),))}
    )
    current = snapshot(hw={"gpus": gpus(driver="535.104.05", cuda="12.2")})
    (finding,) = cuda.driver_minimum(recorded, current)
    assert (finding.severity, finding.code) == ("error", "driver.too-old")
    assert finding.expected == ">= 580.65.06"
    assert "12.2" in finding.remedy


def test_driver_and_library_version_changes_are_warnings() -> None:
    recorded = snapshot()
    env = model.replace(
        recorded.environment,
        cuda=CudaStack(
            frameworks=(FrameworkBuild("torch", "2.2.0", cuda="12.1"),),
            components=(
                Component("cuda-runtime", "12.1.105"),
                Component("cudnn", "8.9.7"),
                Component("nccl", "2.19.3"),
            ),
        ),
    )
    current = model.replace(
        snapshot(hw={"gpus": gpus(driver="550.54.15", cuda="12.4")}), environment=env
    )
    found = codes(cuda.driver_changed(recorded, current) + cuda.cuda_components(recorded, current))
    assert found == {("warning", "driver.changed"), ("warning", "cuda.cudnn-changed")}


def _with_stack(snap: Any, *frameworks: FrameworkBuild, components: tuple = ()) -> Any:
    stack = CudaStack(frameworks=frameworks, components=components)
    return model.replace(snap, environment=model.replace(snap.environment, cuda=stack))


def test_versions_agree_as_far_as_the_less_precise_goes() -> None:
    """A toolkit read as 13.0 from cuda.h and as 13.0.2 from a wheel is the same toolkit."""
    torch = FrameworkBuild("torch", "2.2.0", cuda="12.1")
    recorded = _with_stack(snapshot(), torch, components=(Component("cuda-toolkit", "13.0"),))
    same = _with_stack(snapshot(), torch, components=(Component("cuda-toolkit", "13.0.2"),))
    other = _with_stack(snapshot(), torch, components=(Component("cuda-toolkit", "13.1.0"),))
    assert cuda.cuda_components(recorded, same) == []
    (finding,) = cuda.cuda_components(recorded, other)
    assert (finding.code, finding.expected, finding.actual) == (
        "cuda.cuda-toolkit-changed",
        "13.0",
        "13.1.0",
    )


def test_a_cpu_capture_on_a_gpu_machine_is_one_finding_with_a_real_remedy() -> None:
    recorded = _with_stack(snapshot(), FrameworkBuild("torch", "2.13.0+cpu"))
    current = _with_stack(
        snapshot(),
        FrameworkBuild("torch", "2.11.0+cu130", cuda="13.0", cudnn="9.19.0.56"),
        components=(Component("nccl", "2.28.9"), Component("cublas", "13.1.0.3")),
    )
    (finding,) = cuda.cuda_components(recorded, current)
    assert (finding.severity, finding.code) == ("warning", "cuda.added")
    assert finding.message.startswith("4 CUDA libraries the capture did not have")
    assert finding.actual == "cublas 13.1.0.3, cudnn 9.19.0.56, nccl 2.28.9, torch CUDA build 13.0"
    assert "export CUDA_VISIBLE_DEVICES=" in finding.remedy
    assert "remove" not in finding.remedy


def test_a_missing_library_says_so_and_names_the_version_to_install() -> None:
    torch = FrameworkBuild("torch", "2.2.0", cuda="12.1")
    recorded = _with_stack(snapshot(), torch, components=(Component("nccl", "2.19.3"),))
    (finding,) = cuda.cuda_components(recorded, _with_stack(snapshot(), torch))
    assert (finding.code, finding.actual, finding.remedy) == (
        "cuda.nccl-changed",
        "none",
        "install nccl 2.19.3",
    )
    assert finding.message.startswith("no nccl here")
