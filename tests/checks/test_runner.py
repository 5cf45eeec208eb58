"""The findings model, the report envelope and the engine's ordering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envsnap.checks.runner import run
from envsnap.findings import CheckReport, Finding
from envsnap.model import GPUs, Memory
from tests.fakes.snapshots import GIB, snapshot, with_envvars


def test_finding_is_frozen_and_validated() -> None:
    f = Finding("error", "gpu", "gpu.missing", "no GPU")
    with pytest.raises(AttributeError):
        f.severity = "info"  # type: ignore[misc]
    with pytest.raises(ValueError, match="severity"):
        Finding("fatal", "gpu", "x", "y")
    with pytest.raises(ValueError, match="category"):
        Finding("error", "network", "x", "y")


def test_envelope_keys_are_pinned() -> None:
    report = CheckReport((Finding("warning", "gpu", "gpu.count", "m", "8", "4", "r"),))
    data = report.to_dict()
    assert list(data) == ["version", "compatible", "findings"]
    assert data["version"] == 1 and data["compatible"] is True
    assert list(data["findings"][0]) == [
        "severity",
        "category",
        "code",
        "message",
        "expected",
        "actual",
        "remedy",
    ]
    json.dumps(data)


def test_exit_codes_and_strict() -> None:
    warning = CheckReport((Finding("warning", "gpu", "gpu.count", "m"),))
    error = CheckReport((Finding("error", "gpu", "gpu.missing", "m"),))
    info = CheckReport((Finding("info", "os", "os.distro", "m"),))
    assert (warning.exit_code(), warning.exit_code(strict=True)) == (0, 1)
    assert (error.exit_code(), error.compatible) == (1, False)
    assert (info.exit_code(strict=True), CheckReport().exit_code(strict=True)) == (0, 0)


def test_engine_sorts_worst_first_and_is_deterministic() -> None:
    current = with_envvars(
        snapshot(
            hw={
                "gpus": GPUs(status="none", reason="no library"),
                "memory": Memory(total_bytes=900 * GIB),
            }
        ),
        PYTHONHASHSEED=None,
        NCCL_ALGO="Ring",
    )
    report = run(snapshot(), current)
    severities = [f.severity for f in report.findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert report.errors[0].code == "gpu.missing"
    assert {f.code for f in report.warnings} == {"memory.ram", "determinism.missing-var"}
    assert run(snapshot(), current) == report


def test_identical_snapshots_have_no_findings() -> None:
    assert run(snapshot(), snapshot()).findings == ()


def test_parsed_lock_cache_is_keyed_by_content(tmp_path: Path, monkeypatch: Any) -> None:
    from envsnap.formats import capture, pylock
    from envsnap.formats._parsecache import slim

    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    env = snapshot().environment
    lock = tmp_path / "pylock.toml"
    pylock.write(lock, env)

    def load() -> Any:
        return capture.load(tmp_path, parts=(), slim=True).lock

    first = load()
    assert first == slim(pylock.load(lock))
    (entry,) = (tmp_path / "cache" / "check").iterdir()
    assert load() == first  # from the cache
    entry.write_text("{not json")  # a corrupt entry is ignored and rewritten
    assert load() == first
    lock.write_text(lock.read_text().replace('version = "1.26.4"', 'version = "1.26.5"'))
    changed = load()  # edited file: a new key, parsed again
    assert changed.package("numpy").version == "1.26.5"
    assert len(list((tmp_path / "cache" / "check").iterdir())) == 2


def test_parsed_hardware_cache_is_keyed_by_content(tmp_path: Path, monkeypatch: Any) -> None:
    from envsnap.errors import InputError
    from envsnap.formats import capture, hardware, pylock

    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    pylock.write(tmp_path / "pylock.toml", snapshot().environment)
    hw = snapshot().hardware
    assert hw is not None and len(hw.gpus.devices) == 8
    path = hardware.write(tmp_path / "hardware.toml", hw)

    def load() -> Any:
        return capture.load(tmp_path, parts=("hardware",), slim=True).hardware

    assert load() == hardware.load(path) == hw
    (entry,) = (tmp_path / "cache" / "check-hardware").iterdir()
    assert load() == hw  # from the cache: 8 GPUs, the same values
    entry.write_text("[]")  # an entry that is no table is ignored and rewritten
    assert load() == hw
    path.write_text(path.read_text().replace("schema-version = 1", "schema-version = 99"))
    with pytest.raises(InputError, match="newer than this envsnap reads"):
        load()  # an edited file is validated again
