"""Determinism rules: recorded variables, settings a deterministic run needs, TF32."""

from __future__ import annotations

from envsnap.checks.rules import determinism
from envsnap.model import CudaStack, FrameworkBuild, GPUs, Package
from tests.fakes.snapshots import codes, gpus, snapshot, with_envvars

V100 = {"name": "Tesla V100-SXM2-32GB", "cc": "7.0", "memory_total_bytes": 32 * 1024**3}


def test_recorded_variable_missing_or_changed_is_a_warning() -> None:
    current = with_envvars(snapshot(), CUBLAS_WORKSPACE_CONFIG=None, PYTHONHASHSEED="1")
    found = determinism.recorded_vars(snapshot(), current)
    assert codes(found) == {
        ("warning", "determinism.missing-var"),
        ("warning", "determinism.changed-var"),
    }
    missing = next(f for f in found if f.code == "determinism.missing-var")
    assert missing.remedy == "export CUBLAS_WORKSPACE_CONFIG=:4096:8"
    assert missing.expected == ":4096:8" and missing.actual == "unset"


def test_new_variable_is_info_and_thread_vars_are_left_to_blas() -> None:
    current = with_envvars(snapshot(), NCCL_ALGO="Tree", OMP_NUM_THREADS="4")
    assert codes(determinism.recorded_vars(snapshot(), current)) == {
        ("info", "determinism.new-var")
    }


def test_following_the_not_set_advice_is_not_answered_with_unset_it() -> None:
    """Seen on an H200: `export PYTHONHASHSEED=0` as advised, then "fix: unset PYTHONHASHSEED"."""
    bare = with_envvars(snapshot(), CUBLAS_WORKSPACE_CONFIG=None, PYTHONHASHSEED=None)
    advice = {f.expected: f.remedy for f in determinism.needed_settings(bare, bare)}
    assert advice["0"] == "export PYTHONHASHSEED=0"
    done = with_envvars(bare, CUBLAS_WORKSPACE_CONFIG=":4096:8", PYTHONHASHSEED="0")
    assert determinism.needed_settings(bare, done) == []
    found = determinism.recorded_vars(bare, done)
    assert {(f.severity, f.code) for f in found} == {("info", "determinism.new-var")}
    assert len(found) == 2
    assert all(f.remedy == "keep it, and capture again so that the spec records it" for f in found)
    # Another value is still a difference to undo.
    other = determinism.recorded_vars(bare, with_envvars(bare, PYTHONHASHSEED="7"))
    assert [f.remedy for f in other] == ["unset PYTHONHASHSEED"]


def test_needed_settings_never_recorded_are_info() -> None:
    bare = with_envvars(snapshot(), CUBLAS_WORKSPACE_CONFIG=None, PYTHONHASHSEED=None)
    found = determinism.needed_settings(bare, bare)
    assert {(f.severity, f.code, f.expected) for f in found} == {
        ("info", "determinism.not-set", ":4096:8"),
        ("info", "determinism.not-set", "0"),
    }
    assert all(f.category == "determinism" for f in found)
    # Recorded: nothing to add.
    assert determinism.needed_settings(snapshot(), snapshot()) == []


def test_cublas_setting_only_matters_with_a_gpu() -> None:
    bare = with_envvars(snapshot(hw={"gpus": GPUs()}), CUBLAS_WORKSPACE_CONFIG=None)
    assert determinism.needed_settings(bare, bare) == []


def test_tensorflow_setting_depends_on_version() -> None:
    def tf(version: str) -> object:
        return with_envvars(
            snapshot(env={"packages": (Package("tensorflow", version),), "cuda": CudaStack()}),
            CUBLAS_WORKSPACE_CONFIG=None,
        )

    old = tf("2.5.0")
    assert {f.expected for f in determinism.needed_settings(old, old)} == {"1"}  # type: ignore[arg-type]
    new = tf("2.15.0")
    assert determinism.needed_settings(new, new) == []  # type: ignore[arg-type]


def test_tf32_changes_across_the_ampere_boundary() -> None:
    # torch 2.2: matmul TF32 off by default, cuDNN conv TF32 on → conv differs V100 → A100.
    recorded = snapshot(hw={"gpus": gpus(8, **V100)})
    (finding,) = determinism.tf32(recorded, snapshot())
    assert (finding.severity, finding.code) == ("warning", "determinism.tf32")
    assert finding.expected == "conv FP32" and finding.actual == "conv TF32"
    assert "NVIDIA_TF32_OVERRIDE=0" in finding.remedy


def test_tf32_changes_with_the_torch_default() -> None:
    def torch(version: str) -> object:
        return snapshot(
            env={
                "cuda": CudaStack(frameworks=(FrameworkBuild("torch", version, cuda="11.3"),)),
                "packages": (Package("torch", version),),
            }
        )

    (finding,) = determinism.tf32(torch("1.11.0"), torch("1.12.1"))  # type: ignore[arg-type]
    assert finding.expected == "matmul TF32" and finding.actual == "matmul FP32"


def test_tf32_override_variable_on_both_sides_removes_the_difference() -> None:
    recorded = with_envvars(snapshot(hw={"gpus": gpus(8, **V100)}), NVIDIA_TF32_OVERRIDE="0")
    current = with_envvars(snapshot(), NVIDIA_TF32_OVERRIDE="0")
    assert determinism.tf32(recorded, current) == []
    assert determinism.tf32(snapshot(), snapshot()) == []
