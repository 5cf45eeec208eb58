"""NVML probe: a compiled libnvidia-ml.so.1 stand-in loaded in a subprocess, read by our ctypes
binding and, as a cross-check of its struct layouts, by nvidia-ml-py's pynvml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats import hardware
from envsnap.model import GPU
from envsnap.probes import nvml
from tests.fakes.imports import loaded
from tests.fakes.nvml import H100_80GB, T4, FakeNVML, real_nvml_present

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import json; from envsnap.probes import nvml; print(json.dumps(nvml.probe().to_dict()))"


def _probe(env: dict[str, str], cuda_visible: str | None = None) -> dict[str, Any]:
    """Run the real probe in a fresh interpreter (the loader reads LD_LIBRARY_PATH at start)."""
    full = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    full.update(env)
    full["PYTHONPATH"] = str(ROOT)
    if cuda_visible is not None:
        full["CUDA_VISIBLE_DEVICES"] = cuda_visible
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=full, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_one_a100(fake_nvml: FakeNVML) -> None:
    got = _probe(fake_nvml.env(gpus=1))
    assert got == {
        "status": "ok",
        "reason": "",
        "driver-version": "535.104.05",
        "cuda-driver-version": "12.2",
        "devices": [
            {
                "index": 0,
                "name": "NVIDIA A100-SXM4-80GB",
                "uuid": "GPU-7a3b0000-5eed-4a11-8c0d-000000000000",
                "memory-total-bytes": 81920 * 1024 * 1024,
                "compute-capability": "8.0",
                "architecture": "Ampere",
            }
        ],
    }


def test_eight_a100_with_mig_ecc_and_sm_count(fake_nvml: FakeNVML) -> None:
    got = _probe(fake_nvml.env(gpus=8, mig=0, ecc=1, sm_count=108))
    devices = got["devices"]
    assert [d["index"] for d in devices] == list(range(8))
    assert len({d["uuid"] for d in devices}) == 8
    assert all(d["mig-mode"] is False and d["ecc-mode"] is True for d in devices)
    assert all(d["multiprocessor-count"] == 108 for d in devices)


def test_other_errors_of_optional_queries_leave_the_field_unknown(fake_nvml: FakeNVML) -> None:
    got = _probe(fake_nvml.env(gpus=2, sm_count="error:2", devices=[{"sm_count": "error:13"}]))
    assert got["status"] == "ok"
    assert [d["name"] for d in got["devices"]] == ["NVIDIA A100-SXM4-80GB"] * 2
    assert all("multiprocessor-count" not in d for d in got["devices"])


def test_zero_gpus(fake_nvml: FakeNVML) -> None:
    got = _probe(fake_nvml.env(gpus=0))
    assert got == {
        "status": "ok",
        "reason": "NVML reports no GPU",
        "driver-version": "535.104.05",
        "cuda-driver-version": "12.2",
    }


def test_mixed_devices_and_old_driver(fake_nvml: FakeNVML) -> None:
    env = fake_nvml.env(
        gpus=3,
        driver="470.256.02",
        cuda=11040,
        devices=[
            {},
            {"name": H100_80GB[0], "memory_mib": H100_80GB[1], "cc": H100_80GB[2], "mig": 1},
            {"name": T4[0], "memory_mib": T4[1], "cc": T4[2], "arch": "none"},
        ],
    )
    got = _probe(env)
    assert (got["driver-version"], got["cuda-driver-version"]) == ("470.256.02", "11.4")
    archs = [(d["name"], d["compute-capability"], d["architecture"]) for d in got["devices"]]
    assert archs == [
        ("NVIDIA A100-SXM4-80GB", "8.0", "Ampere"),
        ("NVIDIA H100 80GB HBM3", "9.0", "Hopper"),
        ("Tesla T4", "7.5", "Turing"),  # NOT_SUPPORTED by NVML: from the compute capability
    ]
    assert got["devices"][1]["mig-mode"] is True
    assert "mig-mode" not in got["devices"][0]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (9, "NVIDIA driver not loaded"),
        (4, "no permission"),
        (18, "versions differ"),
        (999, "NVML error 999: Unknown Error"),
    ],
)
def test_init_errors_become_unavailable_with_a_reason(
    fake_nvml: FakeNVML, code: int, words: str
) -> None:
    got = _probe(fake_nvml.env(init_error=code))
    assert got["status"] == "unavailable"
    assert words in got["reason"]
    assert "devices" not in got


def test_nvml_is_always_shut_down(fake_nvml: FakeNVML, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    _probe({**fake_nvml.env(gpus=2), "FAKE_NVML_LOG": str(log)})
    assert log.read_text().split() == ["nvmlInit", "nvmlShutdown"]


@pytest.mark.parametrize(
    ("mask", "indices"),
    [
        ("1,0", [1, 0]),
        ("3", [3]),
        ("", []),
        ("-1", []),
        ("0,7,2", [0]),  # CUDA stops at the first entry that names no device
        ("GPU-7a3b0002", [2]),
        ("GPU-7a3b000", []),  # ambiguous prefix
        ("2,2", [2]),
    ],
)
def test_cuda_visible_devices(fake_nvml: FakeNVML, mask: str, indices: list[int]) -> None:
    got = _probe(fake_nvml.env(gpus=4), cuda_visible=mask)
    assert [d["index"] for d in got.get("devices", [])] == indices
    if len(indices) < 4:
        assert f"shows {len(indices)} of 4 GPU(s)" in got["reason"]


@pytest.mark.skipif(real_nvml_present(), reason="a real libnvidia-ml.so.1 is installed here")
def test_no_library_at_all() -> None:
    got = _probe({})
    assert got == {"status": "none", "reason": "libnvidia-ml.so.1 not found (no NVIDIA driver)"}


def test_importing_the_module_loads_neither_ctypes_nor_pynvml() -> None:
    assert loaded("import envsnap.probes.nvml", ("ctypes", "pynvml"), cwd=ROOT) == []


# nvidia-ml-py (a dev dependency) reads the same fake: the same driver, CUDA version and devices.
PYNVML = """
import json, pynvml
pynvml.nvmlInit()
def opt(fn, *a):
    try:
        return fn(*a)
    except pynvml.NVMLError:
        return None
out = {"driver": pynvml.nvmlSystemGetDriverVersion(),
       "cuda": pynvml.nvmlSystemGetCudaDriverVersion_v2()}
devs = []
for i in range(pynvml.nvmlDeviceGetCount()):
    h = pynvml.nvmlDeviceGetHandleByIndex(i)
    mig, ecc, attrs = opt(pynvml.nvmlDeviceGetMigMode, h), opt(pynvml.nvmlDeviceGetEccMode, h), opt(
        pynvml.nvmlDeviceGetAttributes, h)
    devs.append([pynvml.nvmlDeviceGetName(h), pynvml.nvmlDeviceGetUUID(h),
                 pynvml.nvmlDeviceGetMemoryInfo(h).total,
                 "%d.%d" % pynvml.nvmlDeviceGetCudaComputeCapability(h),
                 opt(pynvml.nvmlDeviceGetArchitecture, h), mig and mig[0], ecc and ecc[0],
                 attrs and attrs.multiprocessorCount])
out["devices"] = devs
pynvml.nvmlShutdown()
print(json.dumps(out))
"""


def test_our_binding_reads_what_pynvml_reads(fake_nvml: FakeNVML) -> None:
    pytest.importorskip("pynvml")
    env = fake_nvml.env(
        gpus=3, mig=1, ecc=0, sm_count=132, devices=[{"name": H100_80GB[0], "cc": "9.0"}]
    )
    ours = _probe(env)
    full = {**os.environ, **env}
    done = subprocess.run(
        [sys.executable, "-c", PYNVML], env=full, capture_output=True, text=True, check=True
    )
    theirs = json.loads(done.stdout)
    assert ours["driver-version"] == theirs["driver"]
    assert ours["cuda-driver-version"] == nvml.cuda_version(theirs["cuda"])
    assert [
        [
            d["name"],
            d["uuid"],
            d["memory-total-bytes"],
            d["compute-capability"],
            d["mig-mode"],
            d["ecc-mode"],
            d["multiprocessor-count"],
        ]
        for d in ours["devices"]
    ] == [[t[0], t[1], t[2], t[3], t[5] == 1, t[6] == 1, t[7]] for t in theirs["devices"]]
    assert [d["architecture"] for d in ours["devices"]] == [
        nvml.architecture_name(t[4], t[3]) for t in theirs["devices"]
    ]
    assert ours["devices"][0]["name"] == H100_80GB[0]


def test_a_driver_without_a_symbol_is_function_not_found(tmp_path: Path) -> None:
    """An older driver's NVML lacks newer calls: the binding says so instead of crashing."""
    from envsnap.probes._nvmllib import FUNCTION_NOT_FOUND, NVML, NVMLError

    lib = NVML("libc.so.6")  # a real shared library without a single NVML symbol
    with pytest.raises(NVMLError) as caught:
        lib.driver_version()
    assert caught.value.value == FUNCTION_NOT_FOUND
    assert "nvmlSystemGetDriverVersion" in str(caught.value)


# --- capture through the real CLI ---------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "status", "count"),
    [
        ({"gpus": 0}, "ok", 0),
        ({"gpus": 1}, "ok", 1),
        ({"gpus": 8, "ecc": 1, "mig": 0}, "ok", 8),
        ({"init_error": 9}, "unavailable", 0),
    ],
    ids=["0-gpus", "1-gpu", "8-gpus", "driver-not-loaded"],
)
def test_cli_capture_writes_the_gpus(
    cli, fake_nvml: FakeNVML, tmp_path: Path, settings: dict[str, Any], status: str, count: int
) -> None:
    out = tmp_path / "out"
    result = cli("capture", "--offline", "--json", "-o", str(out), env=fake_nvml.env(**settings))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["gpu_status"], summary["gpus"]) == (status, count)
    gpus = hardware.load(out / "hardware.toml").gpus
    assert (gpus.status, len(gpus.devices)) == (status, count)
    if status == "unavailable":
        assert "driver not loaded" in gpus.reason
    else:
        assert gpus.driver_version == "535.104.05"


@pytest.mark.skipif(real_nvml_present(), reason="a real libnvidia-ml.so.1 is installed here")
def test_cli_capture_without_any_library_says_why(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("capture", "--offline", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "no GPU (libnvidia-ml.so.1 not found (no NVIDIA driver))" in result.stdout
    text = (out / "hardware.toml").read_text(encoding="utf-8")
    assert '[gpus]\nstatus = "none"\nreason = "libnvidia-ml.so.1 not found' in text


# --- pure functions -------------------------------------------------------------------------


def test_cuda_version_text() -> None:
    assert [nvml.cuda_version(v) for v in (12020, 13000, 11080, 12090)] == [
        "12.2",
        "13.0",
        "11.8",
        "12.9",
    ]


def test_architecture_name() -> None:
    assert nvml.architecture_name(9, "9.0") == "Hopper"
    assert nvml.architecture_name(None, "8.9") == "Ada"
    assert nvml.architecture_name(None, "8.6") == "Ampere"
    assert nvml.architecture_name(0xFFFFFFFF, "10.0") == "Blackwell"
    assert nvml.architecture_name(None, "6.1") == "Pascal"
    assert nvml.architecture_name(None, "") == ""


def test_visible_with_mig_entries() -> None:
    devices = [GPU(0, "a", uuid="GPU-1", mig_mode=True), GPU(1, "b", uuid="GPU-2")]
    assert nvml.visible(devices, "MIG-7d8b1a52-0000-0000-0000-000000000000") == devices[:1]
    assert nvml.visible(devices, None) == devices


def test_loadable_reads_the_ld_cache_and_the_search_folders(tmp_path: Path) -> None:
    cache = tmp_path / "ld.so.cache"
    cache.write_bytes(b"glibc-ld.so.cache1.1\x00libcuda.so.1\x00/usr/lib/libcuda.so.1\x00")
    lib_dir = tmp_path / "lib"
    lib_dir.mkdir()
    assert not nvml.loadable(str(cache), search=[str(lib_dir), ""])
    (lib_dir / nvml.LIBRARY).write_bytes(b"\x7fELF")
    assert nvml.loadable(str(cache), search=[str(lib_dir)])
    listed = tmp_path / "listed.cache"
    listed.write_bytes(b"\x00libnvidia-ml.so.1\x00/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1\x00")
    assert nvml.loadable(str(listed), search=[])
    # an unreadable cache proves nothing: let dlopen decide
    assert nvml.loadable(str(tmp_path / "missing.cache"), search=[])


def test_search_path_starts_with_ld_library_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/a:/opt/b")
    folders = nvml._search_path()
    assert folders[:2] == ["/opt/a", "/opt/b"]
    assert "/usr/lib" in folders
    assert f"{sys.prefix}/lib" in folders
