"""The --python probe cache: a real venv answers once; whatever changes the answer re-probes it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from envsnap.probes import _probecache, target
from tests.fakes.venvs import make_venv, site_packages


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    path = tmp_path / "venv"
    make_venv(path)
    return path


class Probe:
    """A probe that runs the real interpreter and counts how often it was asked."""

    def __init__(self, python: Path) -> None:
        self.python, self.calls = python, 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return target._run_script(str(self.python), 30.0)


def test_a_second_probe_reads_the_cache(venv: Path) -> None:
    python = venv / "bin" / "python"
    probe = Probe(python)
    first = _probecache.cached(str(python), probe)
    assert _probecache.cached(str(python), probe) == first
    assert probe.calls == 1
    assert first["prefix"] == str(venv)
    assert len(list(_probecache.cache_dir().glob("*.json"))) == 1
    # The whole probe path gives the same Target from the cache as from a fresh run.
    assert target.probe(str(python)) == target.from_facts(first)


def test_a_new_pth_folder_is_seen(venv: Path) -> None:
    python = venv / "bin" / "python"
    probe = Probe(python)
    site = site_packages(python)
    before = _probecache.cached(str(python), probe)
    extra = venv / "extra"
    extra.mkdir()
    (site / "extra.pth").write_text(f"{extra}\n", encoding="utf-8")
    after = _probecache.cached(str(python), probe)
    assert probe.calls == 2
    assert str(extra) in after["site_dirs"] and str(extra) not in before["site_dirs"]
    # An edited .pth file (same folder listing) is seen too.
    other = venv / "other"
    other.mkdir()
    pth = site / "extra.pth"
    stat = pth.stat()
    pth.write_text(f"{other}\n", encoding="utf-8")
    os.utime(pth, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = _probecache.cached(str(python), probe)
    assert probe.calls == 3 and str(other) in again["site_dirs"]


def test_environment_variables_and_a_recreated_venv_miss(
    venv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = venv / "bin" / "python"
    probe = Probe(python)
    _probecache.cached(str(python), probe)
    monkeypatch.setenv("PYTHONNOUSERSITE", "1")
    _probecache.cached(str(python), probe)
    assert probe.calls == 2
    cfg = venv / "pyvenv.cfg"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    _probecache.cached(str(python), probe)
    assert probe.calls == 3


def test_a_script_wrapper_is_never_cached(tmp_path: Path, venv: Path) -> None:
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexec "{venv / "bin" / "python"}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    probe = Probe(wrapper)
    _probecache.cached(str(wrapper), probe)
    _probecache.cached(str(wrapper), probe)
    assert probe.calls == 2
    assert not _probecache.cache_dir().exists()


def test_a_broken_or_unwritable_cache_only_costs_a_probe(
    tmp_path: Path, venv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = venv / "bin" / "python"
    probe = Probe(python)
    good = _probecache.cached(str(python), probe)
    (entry,) = _probecache.cache_dir().glob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    assert _probecache.cached(str(python), probe) == good
    entry.write_text(json.dumps({"key": "other", "facts": {}, "stamps": {}}), encoding="utf-8")
    assert _probecache.cached(str(python), probe) == good
    assert probe.calls == 3
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(blocker / "cache"))
    assert _probecache.cached(str(python), probe) == good
    assert probe.calls == 4


@pytest.mark.parametrize(
    "text", ["", "https://pypi.org/simple\0six\x001.17.0", "\u00e9\u2014" * 100]
)
def test_cache_keys_hash_as_hashlib_does(text: str) -> None:
    import hashlib

    from envsnap._io import cache_key

    assert cache_key(text.encode()) == hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


# The running interpreter: its facts are cached too, keyed also by how it started.
_RUNNING = """
import json, sys
sys.path[1:1] = sys.argv[1:]  # a program's own additions, after its folder
from envsnap.probes import target
tgt = target.probe(None)
print(json.dumps(["platform" in sys.modules, list(tgt.site_dirs), tgt.python.version]))
"""


def _run_here(env: dict[str, str], *path: str) -> tuple[bool, list[str], str]:
    import subprocess
    import sys

    from tests.fakes.imports import python_without_site

    argv, environ = python_without_site({**os.environ, **env})
    done = subprocess.run(
        [*argv, "-c", _RUNNING, *path], capture_output=True, text=True, env=environ, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded, sites, version = json.loads(done.stdout)
    assert version.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    return loaded, sites, version


def test_the_running_interpreters_facts_are_collected_once(tmp_path: Path) -> None:
    env = {"ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
    first = _run_here(env)
    second = _run_here(env)
    assert first[0] is True  # collected: platform and sysconfig loaded
    assert second[0] is False  # from the cache: neither
    assert second[1:] == first[1:]
    # Another search path is another start: collected again, and its own answer.
    extra = tmp_path / "extra-site"
    extra.mkdir()
    third = _run_here(env, str(extra))
    assert third[0] is True


def test_a_cached_running_answer_equals_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from envsnap.probes import _target_script

    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    fresh = target.from_facts(_target_script.collect())
    assert target.probe(None) == fresh == target.probe(None)
    assert len(list(_probecache.cache_dir().glob("*.json"))) == 1
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])  # a program's own change
    assert target.probe(None) == fresh
    assert len(list(_probecache.cache_dir().glob("*.json"))) == 2
