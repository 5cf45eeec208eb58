"""CPU and BLAS rules: instruction sets the binaries need, SIMD/vendor dispatch, BLAS, threads."""

from __future__ import annotations

from envsnap import model
from envsnap.checks.rules import blas, cpu
from envsnap.model import CPU, BlasInfo, CondaEnv, CondaPackage, Package
from tests.fakes.snapshots import (
    AVX2_FLAGS,
    AVX512_FLAGS,
    codes,
    environment,
    snapshot,
    with_envvars,
)

AMD_AVX2 = CPU("x86_64", vendor="AuthenticAMD", model_name="AMD EPYC 7742", flags=tuple(AVX2_FLAGS))
OLD_CPU = CPU(
    "x86_64",
    vendor="GenuineIntel",
    model_name="Intel Xeon E5-2670",
    flags=("sse4_1", "sse4_2", "ssse3", "popcnt", "cx16", "avx"),
)


def test_required_flags_from_wheel_tags_local_versions_conda_and_knowledge() -> None:
    env = environment(
        packages=(
            Package("fastlib", "1.0", wheel_tags=("cp311-cp311-manylinux_2_28_x86_64_v3",)),
            Package("mylib", "2.0+avx512", wheel_tags=("cp311-cp311-linux_x86_64",)),
            Package("tensorflow", "2.15.0"),
            Package("requests", "2.32.3", wheel_tags=("py3-none-any",)),
        ),
        conda=CondaEnv(
            "linux-64",
            packages=(
                CondaPackage("_x86_64-microarch-level", "3", "2_x86_64_v3"),
                CondaPackage("libfoo", "1.0", "h123_avx512_0"),
            ),
        ),
    )
    needs = cpu.required_flags(env)
    assert "avx2" in needs["fastlib 1.0"] and "fma" in needs["fastlib 1.0"]
    assert "sse4_2" in needs["fastlib 1.0"]  # v3 includes v2
    assert needs["mylib 2.0+avx512"] == ("avx512f",)
    assert needs["tensorflow 2.15.0"] == ("avx",)
    assert "avx2" in needs["_x86_64-microarch-level 3 2_x86_64_v3"]
    assert needs["libfoo 1.0 h123_avx512_0"] == ("avx512f",)
    assert "requests 2.32.3" not in needs


def test_cpu_lacking_a_flag_a_locked_wheel_needs_is_an_error() -> None:
    env = {
        "packages": (
            Package("fastlib", "1.0", wheel_tags=("cp311-cp311-manylinux_2_28_x86_64_v3",)),
        )
    }
    recorded = snapshot(env=env)
    current = snapshot(env=env, hw={"cpu": OLD_CPU})
    (finding,) = cpu.isa_missing(recorded, current)
    assert (finding.severity, finding.category, finding.code) == ("error", "cpu", "cpu.isa-missing")
    assert "avx2" in finding.actual and "fastlib" in finding.message
    assert cpu.isa_missing(recorded, snapshot(env=env)) == []


def test_simd_level_names() -> None:
    assert cpu.simd_level(tuple(AVX512_FLAGS)) == "AVX-512"
    assert cpu.simd_level(tuple(AVX2_FLAGS)) == "AVX2"
    assert cpu.simd_level(("fp", "asimd", "sve")) == "SVE"
    assert cpu.simd_level(("fp", "asimd")) == "NEON"
    assert cpu.simd_level(()) == "baseline"


def test_vendor_and_simd_change_under_openblas_names_its_variable() -> None:
    current = snapshot(hw={"cpu": AMD_AVX2})
    found = cpu.simd_vendor(snapshot(), current)
    assert codes(found) == {("warning", "cpu.simd"), ("warning", "cpu.vendor")}
    assert all(f.remedy == "export OPENBLAS_CORETYPE=Haswell" for f in found)


def test_mkl_remedy_and_pinned_dispatch_is_info() -> None:
    mkl = {"blas": (BlasInfo("numpy", "mkl", "2023.1"),)}
    recorded = snapshot(env=mkl)
    current = snapshot(env=mkl, hw={"cpu": AMD_AVX2})
    found = cpu.simd_vendor(recorded, current)
    assert {f.remedy for f in found} == {"export MKL_CBWR=AVX2"}
    pinned = cpu.simd_vendor(
        with_envvars(recorded, MKL_CBWR="AVX2"), with_envvars(current, MKL_CBWR="AVX2")
    )
    assert codes(pinned) == {("info", "cpu.simd"), ("info", "cpu.vendor")}


def test_same_cpu_no_findings_and_model_change_is_info() -> None:
    assert cpu.simd_vendor(snapshot(), snapshot()) == []
    other = model.replace(snapshot().hardware.cpu, model_name="Intel Xeon Gold 6448Y")
    assert codes(cpu.simd_vendor(snapshot(), snapshot(hw={"cpu": other}))) == {
        ("info", "cpu.model")
    }


def test_blas_library_and_version_change() -> None:
    mkl = snapshot(env={"blas": (BlasInfo("numpy", "mkl", "2023.1"),)})
    newer = snapshot(env={"blas": (BlasInfo("numpy", "scipy-openblas", "0.3.27"),)})
    assert codes(blas.blas_library(snapshot(), mkl)) == {("warning", "blas.library-changed")}
    assert codes(blas.blas_library(snapshot(), newer)) == {("warning", "blas.version-changed")}
    assert blas.blas_library(snapshot(), snapshot()) == []


def test_thread_counts() -> None:
    recorded = with_envvars(snapshot(), OMP_NUM_THREADS="8")
    found = blas.thread_counts(
        recorded, with_envvars(snapshot(), OMP_NUM_THREADS="16", MKL_NUM_THREADS="4")
    )
    assert codes(found) == {("warning", "blas.threads-changed")}
    assert {f.remedy for f in found} == {"export OMP_NUM_THREADS=8", "unset MKL_NUM_THREADS"}
    assert blas.thread_counts(recorded, recorded) == []


def _launched(launcher: str, value: str = "1") -> model.Snapshot:
    snap = with_envvars(snapshot(), OMP_NUM_THREADS=value)
    env = model.replace(snap.environment, launcher=(("OMP_NUM_THREADS", launcher),))
    return model.replace(snap, environment=env)


def test_a_thread_count_torchrun_set_is_named_with_a_remedy_that_works_under_it() -> None:
    """Issue #18: `unset OMP_NUM_THREADS` cannot be applied in a torchrun worker."""
    (unset,) = blas.thread_counts(snapshot(), _launched("torchrun"))
    assert unset.message == (
        "OMP_NUM_THREADS=1 here: torchrun sets it to 1 in each worker when it is not exported; "
        "reductions are split across other threads"
    )
    assert (unset.expected, unset.actual) == ("unset", "1 (set by torchrun)")
    assert unset.remedy == (
        "capture as the workers run (OMP_NUM_THREADS=1 envsnap capture), "
        "or set OMP_NUM_THREADS before torchrun"
    )
    (valued,) = blas.thread_counts(
        with_envvars(snapshot(), OMP_NUM_THREADS="4"), _launched("torchrun")
    )
    assert valued.remedy == "export OMP_NUM_THREADS=4 before torchrun"
    assert "unset" not in valued.remedy


def test_a_thread_count_ray_set_names_ray_and_its_runtime_env() -> None:
    (found,) = blas.thread_counts(
        with_envvars(snapshot(), OMP_NUM_THREADS="8"), _launched("ray", "2")
    )
    assert "Ray sets it in each worker to the task's CPUs" in found.message
    assert found.actual == "2 (set by ray)"
    assert found.remedy == (
        "export OMP_NUM_THREADS=8 in the job's runtime_env (env_vars), or before `ray start`"
    )
