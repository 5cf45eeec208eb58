"""The py-rattler wheel an image's conda stage links with: taken from envsnap's cache only when
no one else could have put it there, as for envsnap's own wheels (`_io.untrusted_folder`)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from envsnap.rebuild.condacontext import _wheel, rattler_version


@pytest.mark.network
@pytest.mark.slow
def test_a_wheel_in_a_cache_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(cache))
    store = cache / "rattler-wheels" / f"{rattler_version()}-manylinux2014_x86_64"
    store.mkdir(parents=True)
    planted = store / f"py_rattler-{rattler_version()}-cp38-abi3-manylinux2014_x86_64.whl"
    with zipfile.ZipFile(planted, "w") as whl:
        whl.writestr("rattler/__init__.py", "raise SystemExit('planted')\n")
    (cache / "rattler-wheels").chmod(0o777)  # anyone could have put it there
    said: list[str] = []
    dest = tmp_path / "tool"
    dest.mkdir()
    wheel = _wheel("linux-64", "3.11", dest, said.append)
    assert wheel.parent == dest and wheel.read_bytes() != planted.read_bytes()
    assert any("ignoring the cache" in line and "writable by others" in line for line in said)
    assert planted.read_bytes().startswith(b"PK")  # left as it was, not trusted nor removed
