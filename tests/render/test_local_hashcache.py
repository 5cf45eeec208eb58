"""Remembered digests of large host files: right, reused while unchanged, redone after a change."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from envsnap.render.hashcache import MIN_SIZE, remembered_sha256


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "hashes"


def big(path: Path, fill: bytes = b"a") -> Path:
    path.write_bytes(fill * (MIN_SIZE + 7))
    return path


def test_digest_is_sha256_and_is_remembered_for_large_files(tmp_path: Path, cache: Path) -> None:
    path = big(tmp_path / "torch.whl")
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    assert remembered_sha256(path) == want
    [entry] = cache.glob("*/*")
    assert entry.read_text() == want
    # The second call reads the entry, not the file: an entry is trusted while the file's
    # identity (device, inode, size, mtime) is unchanged.
    entry.write_text("0" * 64)
    assert remembered_sha256(path) == "0" * 64


def test_a_hard_link_shares_the_entry(tmp_path: Path, cache: Path) -> None:
    path = big(tmp_path / "torch.whl")
    remembered_sha256(path)
    (tmp_path / "ctx").mkdir()
    os.link(path, tmp_path / "ctx" / "torch.whl")  # changes the ctime, not the identity
    assert remembered_sha256(tmp_path / "ctx" / "torch.whl") == remembered_sha256(path)
    assert len(list(cache.glob("*/*"))) == 1


def test_a_changed_file_is_hashed_again(tmp_path: Path, cache: Path) -> None:
    path = big(tmp_path / "torch.whl")
    first = remembered_sha256(path)
    big(path, b"b")  # same size, new mtime
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000))
    assert remembered_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest() != first


def test_small_files_and_bad_entries_are_hashed(tmp_path: Path, cache: Path) -> None:
    small = tmp_path / "small.whl"
    small.write_bytes(b"x")
    assert remembered_sha256(small) == hashlib.sha256(b"x").hexdigest()
    assert not cache.exists()
    path = big(tmp_path / "torch.whl")
    want = remembered_sha256(path)
    [entry] = cache.glob("*/*")
    entry.write_text("not a digest")
    assert remembered_sha256(path) == want
    assert entry.read_text() == want


def test_an_unwritable_cache_still_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "file"))
    path = big(tmp_path / "torch.whl")
    assert remembered_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
