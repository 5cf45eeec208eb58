"""The numerics model, numerics.toml and the pure comparison, on real battery output.

tests/data/numerics/battery-threads{1,2}.json are what `_battery.py` printed on a 2-core Xeon
(numpy 2.4.6 with OpenBLAS 0.3.31, torch 2.13.0 CPU) under OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS 1 and 2.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import sys
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.formats import numerics as fileformat
from envsnap.model import replace
from envsnap.numerics.compare import compare, ulps
from envsnap.numerics.findings import findings, summarize
from envsnap.numerics.model import Numerics, from_battery
from envsnap.numerics.remedies import candidates

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DATA = Path(__file__).resolve().parents[1] / "data" / "numerics"


def _load(threads: int) -> Numerics:
    return from_battery(json.loads((DATA / f"battery-threads{threads}.json").read_text()))


def test_numerics_toml_keeps_the_contract_and_round_trips() -> None:
    one = _load(1)
    text = fileformat.render(one)
    assert len(text.encode()) <= fileformat.MAX_BYTES
    data = tomllib.loads(text)
    assert data["schema-version"] == 1 and isinstance(data["battery-version"], str)
    assert all(isinstance(p["id"], str) and len(p["sha256"]) == 64 for p in data["probes"])
    lines = "".join(f"{i} {s}\n" for i, s in sorted((p["id"], p["sha256"]) for p in data["probes"]))
    assert fileformat.digest(one) == hashlib.sha256(lines.encode()).hexdigest()
    back = fileformat.parse(text)
    assert back == replace(one, seconds=None, probes=tuple(sorted(one.probes, key=lambda p: p.id)))
    assert fileformat.render(back) == text  # deterministic: no timings in the file


def test_the_battery_records_what_the_issue_asks_per_probe() -> None:
    one = _load(1)
    ids = {p.id for p in one.probes}
    assert {"numpy.cpu.gemm-f64", "numpy.cpu.rng-normal", "torch.cpu.conv2d-bwd-f32"} <= ids
    gemm = one.probe("numpy.cpu.gemm-f64")
    assert gemm is not None and gemm.shape == (257, 263) and gemm.deterministic
    assert gemm.max_ulps is not None and 0 < gemm.max_rel_error < 1e-10
    assert len(gemm.sample) == 32 and all(float.fromhex(v) == float.fromhex(v) for v in gemm.sample)
    assert gemm.setting("blas-threads") == "1" and gemm.setting("OMP_NUM_THREADS") == "1"
    # what threadpoolctl saw the run use
    assert one.fact("blas.numpy.threads") == "1" and one.fact("torch.threads") == "1"
    assert one.fact("blas.numpy.internal-api") == "openblas" and one.fact("blas.numpy.architecture")
    assert {f.name: f.status for f in one.frameworks}["jax"] == "missing"


def test_ulps_counts_units_in_the_last_place_of_each_dtype() -> None:
    assert ulps(1.0, math.nextafter(1.0, 2.0), "float64") == 1
    assert ulps(1.0, 1.0 + 2.0**-23, "float32") == 1
    assert ulps(1.0, 1.0 + 2.0**-10, "float16") == 1
    assert ulps(1.0, 1.0 + 2.0**-7, "bfloat16") == 1
    assert ulps(-0.0, 0.0, "float64") == 0
    tiny = struct.unpack("<f", struct.pack("<i", 1))[0]
    assert ulps(-tiny, tiny, "float32") == 2  # across zero
    assert ulps(1.0, 2.0, "int64") is None


def test_threads_1_against_2_finds_blas_and_torch_reductions_and_names_the_cause() -> None:
    one, two = _load(1), _load(2)
    comps = {c.id: c for c in compare(one, two)}
    differs = {i for i, c in comps.items() if c.status == "differs"}
    assert {"numpy.cpu.gemm-f64", "numpy.cpu.gemm-f32", "torch.cpu.sum-f32"} <= differs
    assert comps["numpy.cpu.exp-f64"].status == "identical"
    assert comps["numpy.cpu.sum-f64"].status == "identical"
    gemm = comps["numpy.cpu.gemm-f64"]
    assert "numpy's BLAS threads: 1 -> 2" in gemm.causes
    assert gemm.max_ulps is not None and gemm.max_ulps > 0 and gemm.sample_differs > 0
    assert "torch threads: 1 -> 2" in comps["torch.cpu.sum-f32"].causes
    labels = [c.label for c in candidates(gemm, one, two)]
    assert labels[0] == "OPENBLAS_NUM_THREADS=1" and "OMP_NUM_THREADS=1" in labels
    torch_labels = [c.label for c in candidates(comps["torch.cpu.sum-f32"], one, two)]
    assert torch_labels[0] == "torch.set_num_threads(1)"


def test_a_diff_reports_findings_with_an_unverified_remedy_and_the_summary() -> None:
    one, two = _load(1), _load(2)
    comps = compare(one, two)
    found = findings(comps, None)
    assert found and all(f.category == "numerics" and f.severity == "warning" for f in found)
    assert all("envsnap check --numerics" in f.remedy for f in found)
    summary = summarize(comps)
    assert summary.matched + summary.differs == summary.compared == len(one.probes)
    assert summary.line().startswith(f"numerics: {summary.matched} of {summary.compared} probes")
    same = summarize(compare(one, one))
    assert (same.matched, findings(compare(one, one), {})) == (len(one.probes), [])


def test_a_missing_framework_is_not_measurable_not_an_error() -> None:
    one = _load(1)
    bare = from_battery(
        {
            "battery-version": "1",
            "frameworks": {"numpy": {"status": "missing", "reason": "x"}},
            "probes": [],
        }
    )
    found = findings(compare(one, bare), {})
    assert {f.severity for f in found} == {"info"}
    assert {f.code for f in found} == {"numerics.not-measurable"}
    assert "numpy is not importable here" in found[0].message


def test_hostile_strings_from_a_capture_reach_the_terminal_escaped() -> None:
    one = _load(1)
    evil = from_battery(
        {
            "battery-version": "1",
            "frameworks": {"torch": {"status": "missing", "reason": "\x1b[2Jgone\nnext"}},
            "dispatch": {"numpy": {"version": "\x1b]0;pwned\x07"}},
            "probes": [],
        }
    )
    text = " ".join(f.message for f in findings(compare(one, evil), {}))
    assert "\x1b" not in text and "\n" not in text and "\\x1b[2Jgone\\nnext" in text


def test_a_numerics_toml_that_says_version_is_still_read() -> None:
    """Old-version fixtures are kept: numerics.toml said ``version`` (what
    tests/data/numerics/numerics-version-key.toml holds, rendered from battery-threads1.json)
    before every TOML file envsnap writes said ``schema-version``."""
    old = (DATA / "numerics-version-key.toml").read_text()
    assert old.splitlines()[2] == "version = 1"
    back = fileformat.parse(old)
    assert fileformat.render(back) == old.replace("\nversion = 1\n", "\nschema-version = 1\n", 1)
    assert fileformat.digest(back) == fileformat.digest(_load(1))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version = [", "not valid TOML"),
        ('battery-version = "1"\n', "version: missing"),
        ('version = 9\nbattery-version = "1"\n', "newer than this envsnap reads"),
        ('schema-version = 9\nbattery-version = "1"\n', "schema-version 9 is newer"),
        ('schema-version = 0\nbattery-version = "1"\n', "expected a positive integer"),
        ('version = 1\nbattery-version = "1"\nprobes = 3\n', "probes: expected an array"),
        ('version = 1\nbattery-version = "1"\n[[probes]]\nid = 3\nsha256 = "a"\n', "probes[0].id"),
        ('version = 1\nbattery-version = "1"\n[dispatch]\na = 1\n', "dispatch: expected a table"),
        ('version = 1\n[[probes]]\nid = "a\\u001b[2J"\nsha256 = ""\n', "probes[0].id: expected"),
    ],
)
def test_a_bad_numerics_toml_is_one_line_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "numerics.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        fileformat.load(path)
    assert str(path) in info.value.message and problem in info.value.message


def _nondeterministic(numerics: Numerics, probe_id: str) -> Numerics:
    probes = tuple(
        replace(p, deterministic=False, run_sha256=(p.sha256, "0" * 64, p.sha256))
        if p.id == probe_id
        else p
        for p in numerics.probes
    )
    return replace(numerics, probes=probes)


def test_run_to_run_differences_warn_unless_they_were_recorded_too() -> None:
    one = _load(1)
    flaky = _nondeterministic(one, "torch.cpu.index-add-f32")
    (found,) = findings(compare(one, flaky), {})
    assert (found.severity, found.code) == ("warning", "numerics.nondeterministic")
    assert found.actual == "2 results"
    (known,) = findings(compare(flaky, flaky), {})
    assert known.severity == "info" and "as they did when recorded" in known.message
