"""The Python API for the first lines of a training script: envsnap.check / require / diff."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import envsnap
from envsnap.checks import CheckReport, Finding
from envsnap.errors import CheckFailed, InputError
from tests.fakes.nvml import real_nvml_present
from tests.fakes.scenario import DETERMINISM, capture, machine, make_demo_venv, make_toolkit

pytestmark = pytest.mark.slow  # builds real venvs and captures in subprocesses


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("api")
    toolkit = make_toolkit(root / "cuda")
    py_a = make_demo_venv(root / "venv-a", "1.0")
    py_b = make_demo_venv(root / "venv-b", "2.0")
    return {
        "toolkit": toolkit,
        "a": py_a,
        "b": py_b,
        # Captured without a GPU: this test process has no NVML (LD_LIBRARY_PATH is read at start).
        "cpu": capture(root / "cpu", py_a, machine(fake_nvml, toolkit, "none")),
        "gpu": capture(root / "gpu", py_a, machine(fake_nvml, toolkit, "a100")),
    }


@pytest.fixture
def same_env(setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's environment as the captures had it."""
    monkeypatch.setenv("CUDA_HOME", str(setup["toolkit"]))
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(setup["toolkit"].parent / "cache"))
    for key, value in DETERMINISM.items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("same_env")
def test_check_returns_a_report(setup: dict[str, Any]) -> None:
    report = envsnap.check(setup["cpu"], python=str(setup["a"]))
    assert isinstance(report, CheckReport)
    assert report.compatible and report.findings == ()
    assert report.to_dict() == {"version": 1, "compatible": True, "findings": []}
    assert envsnap.require(setup["cpu"], strict=True, python=str(setup["a"])) == report


@pytest.mark.usefixtures("same_env")
def test_check_another_environment(setup: dict[str, Any]) -> None:
    report = envsnap.check(setup["cpu"], python=str(setup["b"]))
    assert not report.compatible
    assert [(f.severity, f.code) for f in report.errors] == [("error", "package.version")]


@pytest.mark.usefixtures("same_env")
def test_require_raises_listing_the_errors(setup: dict[str, Any]) -> None:
    with pytest.raises(CheckFailed) as info:
        envsnap.require(setup["cpu"], python=str(setup["b"]))
    assert info.value.exit_code == 1
    assert str(info.value) == (
        f"{setup['cpu']}: this machine does not match the capture (1 problem(s)):\n"
        "  error package.version: demo-pkg is at another version (fix: pip install demo-pkg==1.0)"
    )
    assert info.value.hint == "pip install demo-pkg==1.0"


@pytest.mark.skipif(real_nvml_present(), reason="a real NVIDIA driver library is installed")
@pytest.mark.usefixtures("same_env")
def test_require_on_a_machine_without_the_recorded_gpus(setup: dict[str, Any]) -> None:
    with pytest.raises(CheckFailed, match=r"error gpu\.missing"):
        envsnap.require(setup["gpu"], python=str(setup["a"]))


def test_require_strict_fails_on_warnings(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_HOME", str(setup["toolkit"]))
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(setup["toolkit"].parent / "cache"))
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    report = envsnap.require(setup["cpu"], python=str(setup["a"]))  # warnings only: passes
    assert [f.code for f in report.warnings] == ["determinism.missing-var"]
    with pytest.raises(CheckFailed, match="CUBLAS_WORKSPACE_CONFIG"):
        envsnap.require(setup["cpu"], strict=True, python=str(setup["a"]))


def test_diff(setup: dict[str, Any]) -> None:
    report = envsnap.diff(setup["gpu"], setup["cpu"])
    assert [f.code for f in report.errors] == ["gpu.missing"]
    assert envsnap.diff(setup["gpu"], setup["gpu"]).findings == ()
    finding = report.errors[0]
    assert isinstance(finding, Finding) and finding.category == "gpu"


def test_bad_input_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="capture directory not found"):
        envsnap.check(tmp_path / "missing")
    with pytest.raises(InputError, match=r"pylock\.toml: not found"):
        envsnap.diff(tmp_path, tmp_path)


def test_api_functions_stay_callable_after_their_layers_are_imported(tmp_path: Path) -> None:
    # Importing a subpackage sets it as an attribute of `envsnap`: a layer named like an API
    # function would replace the function after its first call.
    code = (
        "import envsnap, envsnap.probes, envsnap.checks, envsnap.api\n"
        "for _ in range(2):\n"
        "    snap = envsnap.capture(None, offline=True)\n"
        "assert envsnap.capture is envsnap.api.capture and envsnap.check is envsnap.api.check\n"
        "print(type(snap).__name__)\n"
    )
    env = {**os.environ, "ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Captured"
