"""envsnap's JSON caches keep one set of rules (`envsnap._cache`): private folders and files,
atomic writes, a digest that makes any damaged entry a miss, and a cache that cannot be written
is not an error. The five caches that use it are each seen writing an entry of that shape."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from envsnap import _cache, knowledge
from envsnap._io import cache_key
from envsnap.formats import hardware, pylock
from envsnap.formats.capture import load
from envsnap.index import lookup
from envsnap.index.pipconfig import PipConfig
from envsnap.model import Package
from envsnap.probes import _filecache, _probecache
from tests.fakes import samples, snapshots

VALUE = {"b": [1, 2.5, "x"], "a": {"nested": True}, "z": None}


def test_an_entry_round_trips_in_order_and_is_private(tmp_path: Path) -> None:
    entry = _cache.entry(tmp_path / "cache" / "demo", "ab" * 32, fan_out=True)
    assert entry == tmp_path / "cache" / "demo" / "ab" / f"{'ab' * 32}.json"
    assert _cache.load(entry) is None
    assert _cache.store(entry, VALUE) is None
    back = _cache.load(entry)
    assert back == VALUE and list(back) == ["b", "a", "z"]  # key order kept (the knowledge's)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temp file left
    text = entry.read_text()
    assert json.loads(text) == {"check": cache_key(json.dumps(VALUE).encode()), "value": VALUE}


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: "",
        lambda t: t[: len(t) // 2],
        lambda t: "{not json",
        lambda t: "[]",
        lambda t: "null",
        lambda t: json.dumps(VALUE),  # the value alone, without its digest
        lambda t: t.replace('"x"', '"y"'),  # another well-formed value, the digest unchanged
        lambda t: t.replace(t[11:75], "0" * 64),  # another digest
        lambda t: t.rstrip("\n"),
        lambda t: _cache.entry_text(VALUE).replace(json.dumps(VALUE), DEEP),
        lambda t: (  # a deep value with its own right digest: still a miss, never a crash
            f'{{"check": "{cache_key(DEEP.encode())}", "value": {DEEP}}}\n'
        ),
    ],
)
def test_a_damaged_entry_is_a_miss(tmp_path: Path, damage: object) -> None:
    entry = _cache.entry(tmp_path, "cd" * 32)
    _cache.store(entry, VALUE)
    entry.write_text(damage(entry.read_text()))  # type: ignore[operator]
    assert _cache.load(entry) is None
    assert _cache.store(entry, VALUE) is None  # ...and rewritten
    assert _cache.load(entry) == VALUE


def test_a_cache_that_cannot_be_written_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _cache.store(_cache.entry(blocker / "cache", "ef" * 32), VALUE)  # why, not a raise
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert "link" in (_cache.store(_cache.entry(tmp_path / "link", "ef" * 32), VALUE) or "")
    assert list(real.iterdir()) == []  # nothing written through the link


def _entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if p.is_file())


def test_every_json_cache_writes_entries_of_this_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse cache, the file-facts cache, the --python cache, the knowledge cache and the
    index cache each write entries that `_cache.load` reads back (and nothing else)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(cache))
    capture = tmp_path / "cap"
    hardware.write(capture / "hardware.toml", snapshots.hardware())
    pylock.write(capture / "pylock.toml", samples.cpu_env())
    load(capture, parts=("hardware",), slim=True)  # check's parse cache: lock and hardware
    source = tmp_path / "facts.txt"
    source.write_text("x")
    _filecache.cached("demo-facts", source, lambda p: [p.name], lambda v: True)
    python = Path(os.path.realpath(sys.executable))
    _probecache.cached(str(python), lambda: {"version": "3", "site_dirs": []})
    knowledge.load.__wrapped__("cpu")  # type: ignore[attr-defined]
    links = tmp_path / "links"
    links.mkdir()
    (links / "demo-1.0-py3-none-any.whl").write_bytes(b"a wheel")
    lookup.lock_hashes(
        [Package("demo", "1.0", "index")],
        offline=False,
        progress=lambda _m: None,
        config=PipConfig(no_index=True, find_links=(str(links),)),
        cache_dir=cache / "index",
    )
    folders = {p.relative_to(cache).parts[0] for p in _entries(cache)}
    assert folders == {"check", "check-hardware", "demo-facts", "targets", "knowledge", "index"}
    for path in _entries(cache):
        assert _cache.load(path) is not None, path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
