"""`envsnap check` and `envsnap diff` end to end: the real CLI in subprocesses, a capture taken
under the NVML stand-in (8x A100 80GB, driver 535.104.05, CUDA 12.2, a CUDA 12.2 toolkit, torch
2.2.0+cu121 files in a real venv), then checked under other machines."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.imports import loaded
from tests.fakes.nvml import real_nvml_present
from tests.fakes.scenario import (
    DETERMINISM,
    capture,
    check_json,
    codes,
    edit,
    envsnap,
    machine,
    make_demo_venv,
    make_toolkit,
    site_packages,
)
from tests.fakes.sitepackages import write_dist_info

# The module builds real venvs (without pip) and captures in subprocesses.
pytestmark = pytest.mark.slow

HEAVY = ("torch", "tensorflow", "jax", "numpy", "pynvml", "cpuinfo", "docker", "rich", "jsonschema")
HEAVY += ("mlflow", "wandb", "aim")  # the trackers' extras: `log` and `diff` load them, never check
# What a repeated check (lock, hardware.toml and knowledge answered from the cache) must not load:
# TOML parsers, file formats, OpenSSL, the write path, conda, the index, the other verbs.
WARM_CHECK_SKIPS = (
    "tomllib",
    "tomli",
    "hashlib",
    "_hashlib",
    "tempfile",
    "random",
    "envsnap.formats.hardware",
    "envsnap.formats.pylock",
    "envsnap.formats.condalock",
    "envsnap.probes.conda",
    "envsnap.index.lookup",
    "envsnap.commands.capture",
    "envsnap.commands.diff",
    "envsnap.commands.rebuild",
    "subprocess",  # the processes door is imported (it finds nvcc on PATH) but starts nothing
    "typing",  # annotations only: under TYPE_CHECKING
    "importlib",  # the CLI imports its verb's module with __import__
    "contextlib",  # try/except on the check path
    "shlex",  # remedies quote with rules._common.sh; os-release values are read by osinfo
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Any) -> dict[str, Any]:
    """Two venvs (demo-pkg 1.0 / 2.0), a toolkit, and the capture of venv A on the A100 box."""
    root = tmp_path_factory.mktemp("check-world")
    toolkit = make_toolkit(root / "cuda-12.2")
    py_a = make_demo_venv(root / "venv-a", "1.0")
    py_b = make_demo_venv(root / "venv-b", "2.0")
    a100 = machine(fake_nvml, toolkit, cpu="xeon")
    recorded = capture(root / "capture-a", py_a, a100)
    return {
        "root": root,
        "toolkit": toolkit,
        "a": py_a,
        "b": py_b,
        "a100": a100,
        "recorded": recorded,
        "fake": fake_nvml,
    }


def _on(world: dict[str, Any], kind: str = "a100", cpu: str = "xeon", **kw: Any) -> dict[str, str]:
    return machine(world["fake"], world["toolkit"], kind, cpu=cpu, **kw)


def test_same_machine_is_one_line_and_exit_0(world: dict[str, Any]) -> None:
    result = envsnap(
        "check", str(world["recorded"]), "--python", str(world["a"]), env=world["a100"]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"envsnap: this machine matches the capture in {world['recorded']}\n"
    rc, envelope = check_json(world["recorded"], world["a"], world["a100"])
    assert (rc, envelope) == (0, {"version": 1, "compatible": True, "findings": []})


def test_recorded_capture_holds_the_scenario(world: dict[str, Any]) -> None:
    hw = (world["recorded"] / "hardware.toml").read_text()
    assert hw.count("[[gpus.devices]]") == 8 and 'driver-version = "535.104.05"' in hw
    lock = (world["recorded"] / "pylock.toml").read_text()
    assert "sm_86" in lock and 'CUBLAS_WORKSPACE_CONFIG = ":4096:8"' in lock


def test_four_h100_no_kernels_and_other_count_and_arch(world: dict[str, Any]) -> None:
    rc, envelope = check_json(world["recorded"], world["a"], _on(world, "h100"))
    assert rc == 1 and envelope["compatible"] is False
    assert codes(envelope) == {
        ("error", "gpu", "gpu.arch-unsupported"),
        ("warning", "gpu", "gpu.count"),
        ("warning", "gpu", "gpu.arch-changed"),
    }
    arch = next(f for f in envelope["findings"] if f["code"] == "gpu.arch-unsupported")
    assert arch["actual"] == "sm_90" and "sm_86" in arch["expected"] and arch["remedy"]


def test_driver_470_is_too_old_for_cuda_12(world: dict[str, Any]) -> None:
    rc, envelope = check_json(
        world["recorded"], world["a"], _on(world, driver="470.82.01", cuda=11040)
    )
    assert rc == 1
    assert codes(envelope) == {
        ("error", "driver", "driver.too-old"),
        ("warning", "driver", "driver.changed"),
    }
    old = next(f for f in envelope["findings"] if f["code"] == "driver.too-old")
    assert old["expected"] == ">= 535.54.03" and old["actual"].startswith("470.82.01")


def test_driver_530_runs_through_minor_version_compatibility(world: dict[str, Any]) -> None:
    env = _on(world, driver="530.30.02", cuda=12010)
    rc, envelope = check_json(world["recorded"], world["a"], env)
    assert rc == 0 and envelope["compatible"] is True
    assert ("warning", "driver", "driver.minor-compat") in codes(envelope)
    rc_strict, _ = check_json(world["recorded"], world["a"], env, "--strict")
    assert rc_strict == 1


@pytest.mark.skipif(real_nvml_present(), reason="a real NVIDIA driver library is installed")
def test_no_gpu(world: dict[str, Any]) -> None:
    rc, envelope = check_json(world["recorded"], world["a"], _on(world, "none"))
    assert rc == 1
    assert codes(envelope) == {("error", "gpu", "gpu.missing")}


def test_driver_not_loaded(world: dict[str, Any]) -> None:
    rc, envelope = check_json(world["recorded"], world["a"], _on(world, init_error=9))
    assert rc == 1
    assert codes(envelope) == {("error", "driver", "driver.not-loaded")}


def test_less_gpu_memory(world: dict[str, Any]) -> None:
    env = _on(world, name="NVIDIA A100-SXM4-40GB", memory_mib=40960)
    rc, envelope = check_json(world["recorded"], world["a"], env)
    assert rc == 1
    assert codes(envelope) == {
        ("error", "memory", "memory.gpu"),
        ("warning", "gpu", "gpu.model-changed"),
    }


@pytest.mark.parametrize(("factor", "severity"), [(0.99, None), (0.95, "warning"), (0.5, "error")])
def test_less_ram_than_recorded(world: dict[str, Any], factor: float, severity: str | None) -> None:
    rc, envelope = check_json(world["recorded"], world["a"], _on(world, ram_factor=factor))
    assert codes(envelope) == ({(severity, "memory", "memory.ram")} if severity else set())
    assert rc == (1 if severity == "error" else 0)


def test_less_ram_in_a_hand_edited_capture(world: dict[str, Any], tmp_path: Path) -> None:
    recorded = shutil.copytree(world["recorded"], tmp_path / "more-ram")
    hw = recorded / "hardware.toml"
    total = int(
        next(line for line in hw.read_text().splitlines() if line.startswith("total-bytes")).split(
            "="
        )[1]
    )
    edit(hw, r"^total-bytes = \d+$", f"total-bytes = {total * 2}")
    rc, envelope = check_json(recorded, world["a"], world["a100"])
    assert (rc, codes(envelope)) == (1, {("error", "memory", "memory.ram")})


def test_other_cpu_vendor_and_simd_level(world: dict[str, Any]) -> None:
    rc, envelope = check_json(world["recorded"], world["a"], _on(world, cpu="epyc"))
    assert rc == 0
    assert codes(envelope) == {("warning", "cpu", "cpu.simd"), ("warning", "cpu", "cpu.vendor")}
    simd = next(f for f in envelope["findings"] if f["code"] == "cpu.simd")
    assert (simd["expected"], simd["actual"]) == ("AVX-512", "AVX2")
    assert "MKL_CBWR=AVX2" in simd["remedy"] and "OPENBLAS_CORETYPE=Haswell" in simd["remedy"]


def test_cpu_lacking_what_a_locked_wheel_was_built_for(
    world: dict[str, Any], tmp_path: Path
) -> None:
    py = make_demo_venv(tmp_path / "venv-v4", "1.0")
    write_dist_info(
        site_packages(tmp_path / "venv-v4"),
        "fastmath",
        "1.0",
        tags=("cp311-cp311-manylinux_2_28_x86_64_v4",),
    )
    recorded = capture(tmp_path / "capture-v4", py, world["a100"])
    rc, envelope = check_json(recorded, py, _on(world, cpu="epyc"))
    assert rc == 1
    assert ("error", "cpu", "cpu.isa-missing") in codes(envelope)
    isa = next(f for f in envelope["findings"] if f["code"] == "cpu.isa-missing")
    assert "fastmath 1.0" in isa["message"] and "avx512f" in isa["actual"]
    same_cpu = check_json(recorded, py, world["a100"])
    assert same_cpu == (0, {"version": 1, "compatible": True, "findings": []})


def test_v100_loses_tf32_and_memory(world: dict[str, Any]) -> None:
    rc, envelope = check_json(world["recorded"], world["a"], _on(world, "v100"))
    assert rc == 1
    assert codes(envelope) == {
        ("error", "memory", "memory.gpu"),
        ("warning", "gpu", "gpu.arch-changed"),
        ("warning", "determinism", "determinism.tf32"),
    }
    tf32 = next(f for f in envelope["findings"] if f["code"] == "determinism.tf32")
    assert (tf32["expected"], tf32["actual"]) == ("conv TF32", "conv FP32")


def test_diff_mig_turned_on(world: dict[str, Any]) -> None:
    off = capture(world["root"] / "mig-off", world["a"], _on(world, mig=0))
    on = capture(world["root"] / "mig-on", world["a"], _on(world, mig=1))
    result = envsnap("diff", str(off), str(on), "--json", env={})
    assert result.returncode == 0, result.stderr
    assert codes(json.loads(result.stdout)) == {("warning", "gpu", "gpu.mig")}


def test_missing_determinism_variables(world: dict[str, Any]) -> None:
    env = {k: v for k, v in world["a100"].items() if k not in DETERMINISM}
    rc, envelope = check_json(world["recorded"], world["a"], env, unset=tuple(DETERMINISM))
    assert rc == 0
    missing = {(f["severity"], f["category"], f["code"], f["remedy"]) for f in envelope["findings"]}
    assert missing == {
        (
            "warning",
            "determinism",
            "determinism.missing-var",
            "export CUBLAS_WORKSPACE_CONFIG=:4096:8",
        ),
        ("warning", "determinism", "determinism.missing-var", "export PYTHONHASHSEED=0"),
    }


def test_changed_package_in_a_second_venv(world: dict[str, Any]) -> None:
    rc, envelope = check_json(world["recorded"], world["b"], world["a100"])
    assert rc == 1
    (finding,) = envelope["findings"]
    assert (finding["severity"], finding["category"], finding["code"]) == (
        "error",
        "packages",
        "package.version",
    )
    assert (finding["expected"], finding["actual"]) == ("1.0", "2.0")
    assert finding["remedy"] == "pip install demo-pkg==1.0"


def test_human_table(world: dict[str, Any]) -> None:
    result = envsnap(
        "check", str(world["recorded"]), "--python", str(world["b"]), env=_on(world, "h100")
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "\033[" not in result.stdout  # not a TTY: no colour
    # Worst first, then by category: packages before gpu; columns aligned.
    assert lines[0] == "error    packages  package.version       demo-pkg is at another version"
    assert any(line.startswith("error    gpu       gpu.arch-unsupported  ") for line in lines)
    assert lines[-1] == "2 error(s), 2 warning(s), 0 info: will not run as recorded"
    assert any(line.strip() == "fix: pip install demo-pkg==1.0" for line in lines)


def _tty_output(world: dict[str, Any], env: dict[str, str]) -> str:
    from tests.fakes.tty import run_on_tty

    full = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    full.pop("NO_COLOR", None) if "NO_COLOR" not in env else None
    argv = [sys.executable, "-m", "envsnap", "check", str(world["recorded"])]
    proc, shown = run_on_tty([*argv, "--python", str(world["b"])], stream="stdout", env=full)
    assert proc.returncode == 1, proc.stderr
    return shown


def test_colour_only_on_a_tty_and_not_with_no_color(world: dict[str, Any]) -> None:
    coloured = _tty_output(world, {**world["a100"], "TERM": "xterm"})
    assert "\033[31merror" in coloured
    plain = _tty_output(world, {**world["a100"], "TERM": "xterm", "NO_COLOR": "1"})
    assert "\033[" not in plain and "package.version" in plain


def test_diff_two_captures(world: dict[str, Any]) -> None:
    other = capture(world["root"] / "capture-b", world["b"], _on(world, "h100"))
    result = envsnap("diff", str(world["recorded"]), str(other), "--json", env={})
    assert result.returncode == 1, result.stderr
    envelope = json.loads(result.stdout)
    assert codes(envelope) == {
        ("error", "packages", "package.version"),
        ("error", "gpu", "gpu.arch-unsupported"),
        ("warning", "gpu", "gpu.count"),
        ("warning", "gpu", "gpu.arch-changed"),
    }
    same = envsnap("diff", str(world["recorded"]), str(world["recorded"]), env={})
    assert same.returncode == 0
    assert same.stdout == f"envsnap: {world['recorded']} and {world['recorded']} match\n"


# --- bad input: one line, exit 2 ----------------------------------------------------------------


def _bad(args: list[str], world: dict[str, Any]) -> str:
    result = envsnap(*args, env=world["a100"])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("envsnap: error: ")
    return first


def test_missing_directory(world: dict[str, Any], tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert _bad(["check", str(missing)], world) == (
        f"envsnap: error: {missing}: capture directory not found"
    )
    assert str(missing) in _bad(["diff", str(world["recorded"]), str(missing)], world)


def test_python_that_does_not_exist(world: dict[str, Any], tmp_path: Path) -> None:
    line = _bad(["check", str(world["recorded"]), "--python", str(tmp_path / "python")], world)
    assert str(tmp_path / "python") in line


def test_directory_without_pylock(world: dict[str, Any], tmp_path: Path) -> None:
    assert _bad(["check", str(tmp_path)], world) == (
        f"envsnap: error: {tmp_path / 'pylock.toml'}: not found"
    )


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [
        ("truncated", lambda t: t[: len(t) // 2].rsplit("\n", 1)[0] + "\n[gpus", "hardware.toml"),
        ("hand-edited", lambda t: t.replace("numa-nodes = ", 'numa-nodes = "two" #'), "numa-nodes"),
        ("future", lambda t: t.replace("schema-version = 1", "schema-version = 99"), "newer"),
    ],
)
def test_bad_hardware_toml(
    world: dict[str, Any], tmp_path: Path, name: str, mutate: Any, expected: str
) -> None:
    broken = shutil.copytree(world["recorded"], tmp_path / name)
    hw = broken / "hardware.toml"
    hw.write_text(mutate(hw.read_text()))
    line = _bad(["check", str(broken), "--python", str(world["a"])], world)
    assert str(hw) in line and expected in line


def test_future_pylock_schema(world: dict[str, Any], tmp_path: Path) -> None:
    broken = shutil.copytree(world["recorded"], tmp_path / "future")
    edit(broken / "pylock.toml", r"^(\[tool\.envsnap\]\nschema-version = )1$", r"\g<1>99")
    assert "newer" in _bad(["check", str(broken)], world)


def test_lockfile_from_another_tool(world: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "demo-pkg"\n'
        'version = "1.0"\n[[packages.wheels]]\nname = "demo_pkg-1.0-py3-none-any.whl"\n'
        'url = "https://example.org/demo_pkg-1.0-py3-none-any.whl"\n'
        'hashes = {sha256 = "' + "0" * 64 + '"}\n'
    )
    line = _bad(["check", str(tmp_path)], world)
    assert "another tool" in line and str(tmp_path / "pylock.toml") in line


# --- speed: nothing heavy is imported ------------------------------------------------------------


def _loaded(code: str, env: dict[str, str], names: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of *names* (or their submodules) that running *code* leaves in sys.modules
    (in an interpreter that runs no .pth file: `tests.fakes.imports`)."""
    return loaded(code, names, env={**os.environ, **env})


def test_cli_import_and_check_run_load_no_heavy_module(world: dict[str, Any]) -> None:
    assert _loaded("import envsnap.cli", {}) == []
    run = (
        "import contextlib, io, envsnap.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    envsnap.cli.main(['check', {str(world['recorded'])!r}, '--json'])\n"
    )
    assert _loaded(run, {**world["a100"], "LD_LIBRARY_PATH": ""}) == []


def test_a_repeated_check_loads_no_parser_nor_write_path(
    world: dict[str, Any], tmp_path: Path
) -> None:
    run = (  # stdout swapped by hand: contextlib is among what a check must not load
        "import io, sys, envsnap.cli\n"
        "sys.stdout = io.StringIO()\n"
        f"envsnap.cli.main(['check', {str(world['recorded'])!r}])\n"
        "sys.stdout = sys.__stdout__\n"
        "warm_json = 'json' in sys.modules  # before the harness imports it to answer\n"
    )
    env = {**world["a100"], "LD_LIBRARY_PATH": "", "ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
    cold = _loaded(run, env, WARM_CHECK_SKIPS)
    assert {"tomllib", "envsnap.formats.pylock", "envsnap.formats.hardware"} <= set(cold)
    assert _loaded(run, env, WARM_CHECK_SKIPS) == []
    # cache entries are read with envsnap._jsonfast: a repeated check loads no json either
    assert _loaded(run + "assert not warm_json\n", env, WARM_CHECK_SKIPS) == []
