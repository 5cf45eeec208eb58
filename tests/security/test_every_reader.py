"""Issue #17: every file kind the in door registers, in every hostile variant, through every verb
that reads it, gives exit 0, 1 or 2, no traceback, no hang, under 200 MB, and writes nothing
outside the verb's output.

The kinds come from the door's own registry (`envsnap.formats.capture.KINDS`): a kind added
there is attacked here with no change to this file. The variants are `tests.fakes.hostile`'s
(symlink, FIFO, one byte over the bound, deep nesting, a YAML alias bomb, wrong types, control
characters); the verbs are check, diff, rebuild --no-build, report, log --mlflow (a SQLite
tracking store) and fleet (on node reports). One child process runs the whole matrix
(`python -m tests.fakes.hostile`), so that a hang is an alarm, memory is that child's peak RSS,
and an address-space limit keeps a bomb from taking the machine.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats.capture import KINDS
from tests.fakes.fleetreports import write_fleet
from tests.fakes.hostile import VARIANTS, plant, plant_report
from tests.fakes.limits import run_measured
from tests.security.conftest import offline_env

MAX_RSS_MB = 200
# The variants that no verb may read: each verb that reads the kind refuses it (exit 2).
REFUSED = ("symlink", "fifo", "huge")
# The verbs that read every file of a capture (so each of them must refuse those variants).
READ_ALL = ("report", "log")


def _complete(capture: Path) -> None:
    """Add a valid file of every kind that a capture of a bare venv lacks."""
    from envsnap.formats import condalock, image, numerics, repro
    from envsnap.formats.capture import load
    from envsnap.model import CondaEnv, CondaPackage, replace
    from envsnap.numerics.runner import battery_version

    env = load(capture).lock
    conda = CondaEnv(
        platform="linux-64",
        channels=("https://conda.anaconda.org/conda-forge",),
        packages=(
            CondaPackage(
                "zlib",
                "1.3.1",
                "h4ab18f5_1",
                url="https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-h4ab18f5_1.conda",
                sha256="a" * 64,
                platform="linux-64",
            ),
        ),
    )
    (capture / "conda-lock.yml").write_text(condalock.render(replace(env, conda=conda)))
    record = image.ImageRecord(image_id="sha256:" + "b" * 64, base_image="python:3.11-slim")
    (capture / "image.toml").write_text(image.render(record))
    probe = numerics.ProbeResult(id="numpy.cpu.gemm-f64", sha256="c" * 64)
    measured = numerics.Numerics(battery_version=battery_version(), probes=(probe,))
    (capture / "numerics.toml").write_text(numerics.render(measured))
    verdict = repro.ReproRecord(
        reproducible=True,
        summary="reproducible: 2 runs, 1 output, 1 tensor bit-identical",
        command=("python", "train.py"),
        runs=2,
        lock_digest=f"sha256:{load(capture).sha256('pylock.toml')}",
        numerics_digest="sha256:" + numerics.digest(measured),
        outputs=(repro.OutputRecord("model.safetensors", "safetensors", True, ("d" * 64,) * 2),),
        environments=(("this machine", "host"),),
    )
    repro.write(capture, verdict)
    names = {p.name for p in capture.iterdir()}
    assert {k.name for k in KINDS} <= names, names


def _state(root: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int, int]]:
    """Every entry under *root* (not under *skip*) by lstat: a FIFO is never opened."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in filenames + dirnames:
            st = (here / name).lstat()
            out[str(here / name)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def matrix(bare_capture: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plant every variant, run every verb in one watched child, return what happened."""
    work = tmp_path_factory.mktemp("every-reader")
    good = work / "good"
    shutil.copytree(bare_capture, good)
    _complete(good)
    shared = work / "shared"  # the outputs every case may write: caches and MLflow's store
    shared.mkdir()
    cases = []
    for entry in KINDS:
        for variant in VARIANTS:
            root = work / f"{entry.name}-{variant}"
            cap, out = root / "capture", root / "out"
            shutil.copytree(good, cap)
            out.mkdir()
            plant(cap, entry, variant, root / "outside")
            verbs = [
                ["check", str(cap)],
                ["diff", str(cap), str(good)],
                ["rebuild", str(cap), "--no-build"],
                ["report", str(cap), "-o", str(out / "REPRODUCIBILITY.md")],
                ["log", str(cap), "--mlflow"],
            ]
            cases.append({"name": f"{entry.name}/{variant}", "verbs": verbs, "root": str(root)})
    for variant in VARIANTS:
        root = work / f"fleet-{variant}"
        reports = root / "reports"
        write_fleet(reports, 2)
        plant_report(reports, reports / "node-1.json", variant, root / "outside")
        verbs = [["fleet", str(reports)]]
        cases.append({"name": f"node-report/{variant}", "verbs": verbs, "root": str(root)})
    outputs = (shared, *(Path(c["root"]) / "out" for c in cases))
    before = _state(work, outputs)
    (shared / "cases.json").write_text(json.dumps(cases))
    env = offline_env(
        shared,
        MLFLOW_TRACKING_URI=f"sqlite:///{shared / 'mlflow.db'}",
        GIT_PYTHON_REFRESH="quiet",
        OMP_NUM_THREADS="",
    )
    done = run_measured(
        [str(shared / "cases.json"), str(shared / "results.jsonl")],
        module="tests.fakes.hostile",
        env=env,
        cwd=shared,  # MLflow's default artifact root (./mlruns) lands in the shared output
        timeout=900,
        address_space_mb=3072,
    )
    results = [json.loads(ln) for ln in (shared / "results.jsonl").read_text().splitlines()]
    after = _state(work, outputs)
    return {"done": done, "results": results, "cases": cases, "before": before, "after": after}


def test_the_matrix_covers_every_kind_variant_and_verb(matrix: dict[str, Any]) -> None:
    done = matrix["done"]
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    expected = sum(len(c["verbs"]) for c in matrix["cases"])
    assert len(matrix["results"]) == expected == len(KINDS) * len(VARIANTS) * 5 + len(VARIANTS)


def test_every_verb_ends_with_0_1_or_2_and_no_traceback_nor_hang(matrix: dict[str, Any]) -> None:
    bad = [
        (r["case"], r["argv"][0], r["code"], r["stderr"][-500:])
        for r in matrix["results"]
        if r["hung"]
        or r["code"] not in (0, 1, 2)
        or "Traceback" in r["stderr"]
        or "ENVSNAP_DEBUG" in r["stderr"]  # the CLI's catch-all: an error no layer expected
    ]
    assert bad == []


def test_a_link_fifo_or_oversized_file_is_refused_naming_it(matrix: dict[str, Any]) -> None:
    bad = []
    for r in matrix["results"]:
        name, _, variant = r["case"].partition("/")
        if variant in REFUSED and r["argv"][0] in READ_ALL:
            errors = [ln for ln in r["stderr"].splitlines() if ln.startswith("envsnap: error: ")]
            if r["code"] != 2 or len(errors) != 1 or name not in errors[0]:
                bad.append((r["case"], r["argv"][0], r["code"], r["stderr"][-300:]))
    assert bad == []


def test_fleet_prints_its_table_whatever_the_report(matrix: dict[str, Any]) -> None:
    for r in matrix["results"]:
        if r["argv"][0] == "fleet":
            assert r["code"] in (0, 1) and "NODE" in r["stdout"], r
            if not r["case"].endswith("control-chars"):  # a valid report: only its node is odd
                assert f"skipped {Path(r['argv'][1]) / 'hostile.json'}: " in r["stdout"], r


def test_no_control_character_reaches_the_terminal(matrix: dict[str, Any]) -> None:
    bad = [
        (r["case"], r["argv"][0], stream)
        for r in matrix["results"]
        for stream in ("stdout", "stderr")
        if any(c in r[stream] for c in "\x1b\x07\x85\u202e")
    ]
    assert bad == []


def test_peak_memory_stays_under_200_mb(matrix: dict[str, Any]) -> None:
    peak = max(r["rss_mb"] for r in matrix["results"])
    first = next((r for r in matrix["results"] if r["rss_mb"] >= MAX_RSS_MB), None)
    assert peak < MAX_RSS_MB, (peak, first and (first["case"], first["argv"][0]))
    assert matrix["done"].max_rss_mb < MAX_RSS_MB


def test_nothing_is_written_outside_the_outputs(matrix: dict[str, Any]) -> None:
    before, after = matrix["before"], matrix["after"]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == []
