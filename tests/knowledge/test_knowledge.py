"""The knowledge files: every entry sourced, well-formed, and the look-ups right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envsnap import knowledge

PACKAGE_FILES = sorted(p.stem for p in Path(knowledge.__file__).parent.glob("*.toml"))


def _entries(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for key, value in data.items():
        if isinstance(value, list):
            out += [(f"{key}[{i}]", entry) for i, entry in enumerate(value)]
    return out


def test_every_file_is_listed_and_loads() -> None:
    assert sorted(knowledge.FILES) == PACKAGE_FILES
    for name in PACKAGE_FILES:
        assert knowledge.load(name)["schema-version"] == 1


@pytest.mark.parametrize("name", PACKAGE_FILES)
def test_every_entry_has_a_public_source(name: str) -> None:
    entries = _entries(knowledge.load(name))
    assert entries, f"{name}.toml has no entries"
    for where, entry in entries:
        source = entry.get("source", "")
        assert isinstance(source, str) and source.startswith("https://"), f"{name}.{where}"


def test_driver_table_is_monotonic_and_minimums_match_release_notes() -> None:
    rows = knowledge.load("drivers")["cuda"]
    versions = [knowledge.version_tuple(r["version"]) for r in rows]
    drivers = [knowledge.version_tuple(r["min-driver"]) for r in rows]
    assert versions == sorted(versions) and drivers == sorted(drivers)
    assert knowledge.min_driver("12.2") == "535.54.03"
    assert knowledge.min_driver("12.8.1") == "570.26"
    assert knowledge.min_driver("11.8") == "520.61.05"
    assert knowledge.min_driver("12.7") is None  # there is no CUDA 12.7
    floor = knowledge.compat_floor(12)
    assert floor is not None and floor.floor == "525.60.13" and "222" in floor.lost


@pytest.mark.parametrize(
    ("driver", "cuda"),
    [
        ("470.82.01", "11.4"),
        ("535.104.05", "12.2"),
        ("535.54.03", "12.2"),
        ("525.60.13", "12.0"),
        ("580.95.05", "13.0"),
        ("440.33", None),
    ],
)
def test_cuda_for_driver(driver: str, cuda: str | None) -> None:
    assert knowledge.cuda_for_driver(driver) == cuda


@pytest.mark.parametrize(
    ("name", "cc"),
    [
        ("NVIDIA A100-SXM4-80GB", "8.0"),
        ("NVIDIA A10G", "8.6"),
        ("NVIDIA A10", "8.6"),
        ("NVIDIA H100 80GB HBM3", "9.0"),
        ("NVIDIA GH200 480GB", "9.0"),
        ("NVIDIA L40S", "8.9"),
        ("NVIDIA L4", "8.9"),
        ("Tesla T4", "7.5"),
        ("Tesla V100-SXM2-32GB", "7.0"),
        ("Tesla P40", "6.1"),
        ("NVIDIA B200", "10.0"),
        ("NVIDIA GeForce RTX 5090", "12.0"),
        ("Some Future GPU", None),
    ],
)
def test_compute_capability(name: str, cc: str | None) -> None:
    assert knowledge.compute_capability(name) == cc


def test_arch_names_and_tf32() -> None:
    assert knowledge.arch_name("8.0") == "Ampere"
    assert knowledge.arch_name("9.0") == "Hopper"
    assert knowledge.supports_tf32("8.6") and not knowledge.supports_tf32("7.5")


def test_torch_arch_lists() -> None:
    assert knowledge.torch_arch_list("2.8.0+cu128", "12.8")[0] == "sm_70"
    assert knowledge.torch_arch_list("2.11.0", "12.8")[0] == "sm_75"  # Volta dropped
    assert "compute_120" in knowledge.torch_arch_list("2.9.1", "13.0")
    assert "sm_37" in knowledge.torch_arch_list("2.3.1+cu118", "11.8")
    assert knowledge.torch_arch_list("2.13.0+cpu", "") == ()


def test_determinism_and_tf32_defaults() -> None:
    assert knowledge.tf32_defaults("torch", "1.11.0") == {"matmul": True, "conv": True}
    assert knowledge.tf32_defaults("torch", "2.2.0+cu121") == {"matmul": False, "conv": True}
    assert knowledge.tf32_defaults("tensorflow", "2.3.0") == {}
    tf = knowledge.determinism_settings("tensorflow", "2.5.0")
    assert [s["var"] for s in tf] == ["TF_DETERMINISTIC_OPS"]
    torch = knowledge.determinism_settings("torch", "2.2.0")
    assert torch[0]["value"] == ":4096:8"


def test_cpu_facts() -> None:
    assert "avx2" in knowledge.isa_levels()["x86-64-v3"]
    assert knowledge.isa_requirements("tensorflow", "2.15.0") == ("avx",)
    assert knowledge.isa_requirements("tensorflow", "1.5.0") == ()
    assert knowledge.dispatch_remedy("mkl") == ("MKL_CBWR", "AVX2")
    assert knowledge.dispatch_remedy("scipy-openblas") == ("OPENBLAS_CORETYPE", "Haswell")
    assert knowledge.dispatch_remedy("accelerate") is None


def test_version_tuple() -> None:
    assert knowledge.version_tuple("535.104.05") == (535, 104, 5)
    assert knowledge.version_tuple("2.8.0+cu128") == (2, 8, 0)
    assert knowledge.version_tuple("12.1.105") == (12, 1, 105)
    assert knowledge.version_tuple("2.0.0rc1") == (2, 0, 0)
    assert knowledge.version_tuple("") == ()


# --- start-up speed: ranges without packaging, files without a TOML parser --------------------

_VERSIONS = (
    "2.8.0", "2.8", "2.8.0+cu128", "2.10.1", "2.11.0", "1.13.1", "2", "2.6.0.0", "0.0.1",
    "2.8.0rc1", "2.8.0.post1", "2.8.0.dev3", "1!2.8.0", "v2.8.0", "2.8.0+cu..1", "two", "",
)  # fmt: skip
_SPECS = (
    ">=2.8,<2.11", ">=2.1, <2.6", ">=1.6", "<2.8", "<=2.8.0", ">2.8", "==2.8", "!=2.8.0",
    "==2.8.*", "~=2.8", "===2.8.0", ">=2.8+cu1", "=2.8", ">=", "nonsense",
)  # fmt: skip


@pytest.mark.parametrize("spec", _SPECS)
def test_ranges_decided_without_packaging_agree_with_packaging(spec: str) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    for version in _VERSIONS:
        try:
            expected = SpecifierSet(spec).contains(
                Version(Version(version).base_version), prereleases=True
            )
        except (InvalidSpecifier, InvalidVersion):
            expected = False
        assert knowledge._in_range(version, spec) is expected, (version, spec)


def test_the_knowledge_ranges_need_no_packaging() -> None:
    specs = [
        str(entry["versions"])
        for name in knowledge.FILES
        for _, entry in _entries(knowledge.load(name))
        if entry.get("versions")
    ]
    assert specs
    assert all(knowledge._simple_in_range("2.8.0+cu128", s) is not None for s in specs)


def test_knowledge_files_are_cached_as_json_and_a_bad_entry_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path))
    parse = knowledge.load.__wrapped__  # the look-up without the in-process memo
    fresh = knowledge._parse(Path(knowledge.__file__).parent / "cpu.toml")  # the TOML parser
    assert parse("cpu") == fresh
    (entry,) = (tmp_path / "knowledge").glob("*.json")
    assert parse("cpu") == fresh  # from the entry
    entry.write_text("{not json")
    assert parse("cpu") == fresh
