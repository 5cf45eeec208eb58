"""The conda files' labels name a record in the prefix's conda-meta: a lock entry whose name,
version or build string no conda package could have is refused before anything is fetched or
linked, on the host (condafiles) and in an image's conda stage (condalink's own check)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.model import CondaEnv, CondaPackage
from envsnap.rebuild import condalink
from envsnap.rebuild.condafiles import fetch_conda

ESCAPES = ("../../../etc/x", "a/b", ".hidden", "", "name with space")


@pytest.mark.parametrize("bad", ESCAPES)
def test_the_host_refuses_a_label_that_is_no_conda_name(bad: str, tmp_path: Path) -> None:
    pkg = CondaPackage(
        name=bad,
        version="1.0",
        build="0",
        url="https://conda.example/noarch/x-1.0-0.conda",
        sha256="0" * 64,
    )
    with pytest.raises(InputError, match="not a conda package name"):
        fetch_conda(CondaEnv(platform="linux-64", packages=(pkg,)), tmp_path / "files", tmp_path)
    assert not any((tmp_path / "files").iterdir())


@pytest.mark.parametrize("field", ["name", "version", "build"])
def test_the_conda_stage_refuses_it_too(field: str, tmp_path: Path) -> None:
    entry = {"name": "tinyconf", "version": "1.0", "build": "0", "file": "x.conda"}
    entry |= {"channel": "c", "url": "https://conda.example/x.conda", "sha256": "0" * 64}
    entry[field] = "../../escape"
    (tmp_path / "x.conda").write_bytes(b"not read")
    (tmp_path / condalink.MANIFEST).write_text(json.dumps({"version": 1, "packages": [entry]}))
    with pytest.raises(condalink.Mismatch, match=f"not a conda package {field}"):
        condalink.verify(tmp_path)
    assert condalink.main([str(tmp_path), str(tmp_path / "prefix")]) == 3
    assert not (tmp_path / "prefix").exists()


def test_real_labels_pass() -> None:
    assert condalink.bad_label("python", "3.11.7", "hab00c5b_1_cpython") is None
    assert condalink.bad_label("libgcc-ng", "1!13.2.0+post1", "h77fa898_7") is None
