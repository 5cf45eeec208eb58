"""BLAS build info from recorded real `__config__.py` / `ATen/Config.h` files, never importing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from envsnap._cache import entry_text
from envsnap.model import BlasInfo
from envsnap.probes import blas

DATA = Path(__file__).resolve().parent.parent / "data"
NUMPY_CONFIG = DATA / "numpy" / "__config__-2.4.6.py"
SCIPY_CONFIG = DATA / "scipy" / "__config__-1.17.1.py"
ATEN_CONFIG = DATA / "torch" / "ATen-Config-2.13.0+cpu.h"


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    site.mkdir()
    return site


def _put(site: Path, rel: str, source: Path | None = None, text: str = "") -> None:
    target = site / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copy(source, target)
    else:
        target.write_text(text)


def test_parse_real_numpy_config() -> None:
    infos = blas.parse_numpy_config("numpy", NUMPY_CONFIG.read_text())
    # LAPACK is the same scipy-openblas build, so it is not repeated
    assert infos == (
        BlasInfo(
            owner="numpy",
            name="scipy-openblas",
            version="0.3.31.188.0",
            detail="OpenBLAS 0.3.31.188.0 USE64BITINT DYNAMIC_ARCH NO_AFFINITY Haswell "
            "MAX_THREADS=64",
        ),
    )


def test_parse_real_scipy_config() -> None:
    [info] = blas.parse_numpy_config("scipy", SCIPY_CONFIG.read_text())
    assert (info.owner, info.name, info.version) == ("scipy", "scipy-openblas", "0.3.30")
    assert "DYNAMIC_ARCH" in info.detail


def test_parse_distutils_era_config() -> None:
    text = (
        "blas_opt_info={'libraries': ['openblas', 'openblas'], 'library_dirs': "
        "['/usr/local/lib'], 'language': 'c'}\n"
    )
    assert blas.parse_numpy_config("numpy", text) == (
        BlasInfo(owner="numpy", name="openblas", detail="distutils build config"),
    )


def test_parse_lapack_that_differs() -> None:
    text = NUMPY_CONFIG.read_text()
    marker = '"lapack": {\n                "name": "scipy-openblas"'
    assert marker in text
    infos = blas.parse_numpy_config("numpy", text.replace(marker, marker.replace("scipy-", "")))
    assert [(i.owner, i.name) for i in infos] == [
        ("numpy", "scipy-openblas"),
        ("numpy (lapack)", "openblas"),
    ]


def test_parse_aten_config() -> None:
    flags = blas.parse_aten_config(ATEN_CONFIG.read_text())
    assert flags["AT_MKL_ENABLED"] is True
    assert flags["AT_MKL_SEQUENTIAL"] is False
    assert flags["AT_PARALLEL_OPENMP"] is True


def test_probe_site_packages_sorted(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _put(site, "scipy/__config__.py", SCIPY_CONFIG)
    _put(site, "numpy/__config__.py", NUMPY_CONFIG)
    _put(site, "numpy.libs/libscipy_openblas64_-32a4b2a6.so", text="ELF")
    _put(site, "numpy.libs/libgfortran-040039e1-0352e75f.so.5.0.0", text="ELF")
    _put(site, "torch/include/ATen/Config.h", ATEN_CONFIG)
    _put(site, "torch/lib/libgomp.so.1", text="ELF")
    _put(site, "torch/lib/libc10.so", text="ELF")
    infos = blas.probe([], [str(site)])
    assert [i.owner for i in infos] == ["numpy", "scipy", "torch"]
    numpy_info, _, torch_info = infos
    assert numpy_info.detail.endswith("; bundled numpy.libs/libscipy_openblas64_-32a4b2a6.so")
    assert torch_info.name == "mkl"
    assert "MKL statically linked" in torch_info.detail
    assert "bundled torch/lib/libgomp.so.1" in torch_info.detail
    assert "libc10" not in torch_info.detail


def test_probe_torch_with_bundled_openblas(tmp_path: Path) -> None:
    # aarch64 torch wheels ship OpenBLAS in torch/lib and build without MKL
    site = _site(tmp_path)
    _put(
        site,
        "torch/include/ATen/Config.h",
        text=ATEN_CONFIG.read_text().replace("AT_MKL_ENABLED() 1", "AT_MKL_ENABLED() 0"),
    )
    _put(site, "torch/lib/libopenblasp-r0-2eadb500.3.29.so", text="ELF")
    [info] = blas.probe([], [str(site)])
    assert (info.owner, info.name) == ("torch", "openblas")


def test_probe_nothing_installed(tmp_path: Path) -> None:
    assert blas.probe([], [str(_site(tmp_path)), str(tmp_path / "missing")]) == ()


def test_probe_unparseable_config_is_a_result(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _put(site, "numpy/__config__.py", text="CONFIG = {this is not python\n")
    assert blas.probe([], [str(site)]) == (
        BlasInfo(owner="numpy", name="unknown", detail="no BLAS in __config__.py"),
    )


def test_first_site_dir_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _put(first, "numpy/__config__.py", NUMPY_CONFIG)
    _put(second, "numpy/__config__.py", text="blas_opt_info={'libraries': ['mkl_rt']}\n")
    [info] = blas.probe([], [str(first), str(second)])
    assert info.name == "scipy-openblas"


def test_parsed_config_is_cached_by_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    site = _site(tmp_path)
    _put(site, "numpy/__config__.py", NUMPY_CONFIG)
    [first] = blas.probe([], [str(site)])
    assert first.name == "scipy-openblas"
    [entry] = (tmp_path / "cache" / "blas-config").glob("*.json")
    # a second probe reads the cache (no ast): prove it by planting another answer there
    entry.write_text(entry_text([["numpy", "mkl", "2025.1", "planted"]]))
    [again] = blas.probe([], [str(site)])
    assert (again.name, again.detail) == ("mkl", "planted")
    # an entry without the digest of its value is damage, not an answer (issue #9)
    entry.write_text(json.dumps({"value": [["numpy", "mkl", "2025.1", "forged"]], "check": "0"}))
    assert blas.probe([], [str(site)]) == (first,)
    # a re-installed numpy (new mtime) is parsed again; a malformed entry is ignored
    config = site / "numpy" / "__config__.py"
    st = config.stat()
    os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert blas.probe([], [str(site)]) == (first,)
    for stale in (tmp_path / "cache" / "blas-config").glob("*.json"):
        stale.write_text('[["numpy", 3]]')
    assert blas.probe([], [str(site)]) == (first,)
