"""The battery's probe tables, the version that names them, its standalone run in an older
Python, and the one list of environment variable names (`envsnap._envvars.ALLOWLIST`) that
every other list of them is held to."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from envsnap import _redact, knowledge
from envsnap._envvars import ALLOWLIST
from envsnap.numerics import _battery
from envsnap.numerics.runner import battery_version, script_source

DATA = Path(__file__).resolve().parents[1] / "data" / "numerics"
SOURCE = script_source(Path(_battery.__file__))  # as the runner ships it: switches first


def _vars(data: Any) -> set[str]:
    """Every ``var`` named anywhere in a parsed knowledge file."""
    if isinstance(data, dict):
        found = {data["var"]} if isinstance(data.get("var"), str) else set()
        return found.union(*(_vars(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_vars(v) for v in data))
    return set()


def test_every_list_of_variable_names_is_held_to_the_allow_list() -> None:
    """What the battery records, what redaction gives a shape, what the knowledge files ask to
    set and what the numerics remedies try: all allow-listed (a name outside it is never
    recorded, so a rule or remedy about it could never be met, nor tried)."""
    assert set(_battery.ENV_VARS) <= ALLOWLIST
    assert set(_redact._SHAPES) <= ALLOWLIST
    asked = set().union(*(_vars(knowledge.load(name)) for name in knowledge.FILES))
    assert asked and asked <= ALLOWLIST
    remedies = (Path(_battery.__file__).parent / "remedies.py").read_text(encoding="utf-8")
    from envsnap.numerics import remedies as module

    # quoted upper-case names, less the module's own constants that __all__ lists
    tried = set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', remedies)) - set(module.__all__)
    assert tried and tried <= ALLOWLIST


def _ids(rows: tuple[Any, ...], prefix: str, context: Any) -> list[tuple[str, str]]:
    return [
        (f"{prefix}.{name}", klass) for name, klass, _, _, applies, _ in rows if applies(context)
    ]


def test_the_tables_are_the_probes_battery_version_1_recorded() -> None:
    """The probes, their classes and their order as `battery-threads1.json` recorded them
    with this version: a table that changes without a new version fails here (bump
    BATTERY_VERSION and record the data again)."""
    recorded = json.loads((DATA / "battery-threads1.json").read_text())
    assert recorded["battery-version"] == _battery.BATTERY_VERSION == battery_version()
    cpu = _battery.TorchDevice(None, None, "cpu")
    ran = _ids(_battery.NUMPY_PROBES, "numpy.cpu", None)
    ran += _ids(_battery.TORCH_PROBES, "torch.cpu", cpu)
    assert ran == [(p["id"], p["class"]) for p in recorded["probes"]]


@pytest.mark.parametrize(("capability", "bf16"), [((9, 0), True), ((7, 5), False)])
def test_a_gpu_gets_tf32_and_half_precision_products_and_no_lapack(
    capability: tuple[int, int], bf16: bool
) -> None:
    torch = SimpleNamespace(cuda=SimpleNamespace(get_device_capability=lambda dev: capability))
    names = [
        i for i, _ in _ids(_battery.TORCH_PROBES, "t", _battery.TorchDevice(None, torch, "cuda:0"))
    ]
    gemm = ["t.mm-f64", "t.mm-f32", "t.mm-f32-tf32", "t.mm-f16", *(["t.mm-bf16"] if bf16 else [])]
    assert names[: len(gemm)] == gemm
    assert "t.solve-f64" not in names and names[-2:] == ["t.index-add-f32", "t.rng-randn"]
    tf32 = next(row for row in _battery.TORCH_PROBES if row[0] == "mm-f32-tf32")
    assert tf32[5] == {"matmul-tf32": True}  # recorded in the probe's settings


def _pythons(version: str) -> list[str]:
    """``pythonX.Y`` on PATH, and behind a pyenv shim the interpreters it would pick from."""
    found = shutil.which(f"python{version}")
    if found is None:
        return []
    shim = Path(found)
    if shim.parent.name != "shims":
        return [found]
    return sorted(str(p) for p in shim.parent.parent.glob(f"versions/{version}.*/bin/python"))


def test_the_battery_runs_standalone_in_an_older_python() -> None:
    """Its source, as the runner ships it (``PYTHON -c SOURCE CONFIG``), in the oldest
    Pythons on this machine: no numpy there, so every framework is missing, and it still
    answers."""
    ran = 0
    for python in [p for version in ("3.7", "3.8") for p in _pythons(version)]:
        done = subprocess.run(
            [python, "-c", SOURCE, "{}"], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["battery-version"] == _battery.BATTERY_VERSION
        assert result["frameworks"]["numpy"]["status"] == "missing" and result["probes"] == []
        ran += 1
    if ran == 0:
        pytest.skip("no Python 3.7 or 3.8 on this machine")
