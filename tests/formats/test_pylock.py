"""pylock.toml: a valid PEP 751 document that gives the exact Environment back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.pylock import Pylock

from envsnap.errors import InputError
from envsnap.formats import pylock
from envsnap.model import (
    SCHEMA_VERSION,
    ArtifactFile,
    Environment,
    Package,
    Pin,
)
from tests.fakes.lockenv import LINUX, H, environment

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def valid_lock(text: str) -> dict[str, Any]:
    """Assert *text* is a lock `packaging.pylock` accepts (render does not validate through it)."""
    data = tomllib.loads(text)
    Pylock.from_dict(data)
    return data


def test_render_load_round_trip_is_exact(tmp_path: Path) -> None:
    env = environment()
    path = pylock.write(tmp_path / "pylock.toml", env)
    valid_lock(path.read_text(encoding="utf-8"))
    assert pylock.load(path) == env


def test_output_is_a_valid_pep751_lock_with_envsnap_tables() -> None:
    text = pylock.render(environment())
    assert text.startswith(pylock.HEADER + "\n")
    data = valid_lock(text)
    lock = Pylock.from_dict(data)
    assert str(lock.lock_version) == "1.0" and lock.created_by == "envsnap"
    by_name = {p.name: p for p in lock.packages}
    assert list(by_name) == sorted(by_name)
    assert "no-hash" not in by_name and "offline-only" not in by_name
    numpy = by_name["numpy"]
    assert numpy.index == "https://pypi.org/simple" and numpy.sdist is not None
    assert len(numpy.wheels or ()) == 2
    assert by_name["archive"].archive is not None and by_name["archive"].archive.hashes == {
        "sha256": H
    }
    assert by_name["from-git"].vcs is not None and by_name["from-git"].vcs.commit_id == "c" * 40
    assert by_name["mine"].directory is not None and by_name["mine"].directory.editable is True
    assert (
        by_name["spaced"].directory is not None and by_name["spaced"].directory.path == "/tmp/a b/c"
    )
    assert str(by_name["odd-version"].version) == "1.0.post1"
    tool = data["tool"]["envsnap"]
    assert tool["schema-version"] == SCHEMA_VERSION
    assert tool["envvars"] == {"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "PYTHONHASHSEED": "0"}
    assert [u["name"] for u in tool["unhashed"]] == ["no-hash", "offline-only"]
    assert tool["unhashed"][1]["wheel-tags"] == ["py3-none-any"]
    assert "conda" not in tool
    pkg_tool = next(p for p in data["packages"] if p["name"] == "numpy")["tool"]["envsnap"]
    assert pkg_tool == {
        "source": "index",
        "requested": False,
        "installer": "pip",
        "wheel-tags": ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"],
        "installed-file": f"numpy-2.1.0-{LINUX}.whl",
    }


def test_rendering_is_deterministic_and_time_lives_in_one_field() -> None:
    env = environment()
    shuffled = Environment(**{**env.__dict__, "packages": tuple(reversed(env.packages))})
    assert valid_lock(pylock.render(env)) and pylock.render(env) == pylock.render(shuffled)
    later = Environment(**{**env.__dict__, "created_at": "2027-01-01T00:00:00Z"})
    diff = [
        (a, b)
        for a, b in zip(pylock.render(env).splitlines(), pylock.render(later).splitlines())
        if a != b
    ]
    assert diff == [('created-at = "2026-11-25T20:00:00Z"', 'created-at = "2027-01-01T00:00:00Z"')]


MINIMAL = (
    'lock-version = "1.0"\ncreated-by = "uv"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lock-version = [", "not valid TOML"),
        ('lock-version = "1.0"\n', "not a valid PEP 751 lock"),
        (
            MINIMAL + '[packages.archive]\nurl = "https://x/six.tgz"\nhashes = {sha256 = "00"}\n',
            "lockfile from another tool: {path} has no [tool.envsnap] table; "
            "recreate it with envsnap capture",
        ),
    ],
)
def test_bad_files_name_themselves(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        pylock.load(path)
    expected = message.format(path=path)
    assert expected in str(err.value)
    assert str(err.value).startswith(str(path)) or str(err.value).startswith("lockfile from")


def test_newer_schema_and_bad_fields_are_refused(tmp_path: Path) -> None:
    text = pylock.render(environment())
    valid_lock(text)
    path = tmp_path / "pylock.toml"
    path.write_text(text.replace(f"schema-version = {SCHEMA_VERSION}", "schema-version = 99"))
    with pytest.raises(InputError, match=rf"^{path}: tool.envsnap.schema-version 99 is newer"):
        pylock.load(path)
    path.write_text(text.replace('implementation = "cpython"', "implementation = 3"))
    with pytest.raises(InputError, match=r"tool.envsnap.python.implementation: expected str"):
        pylock.load(path)
    with pytest.raises(InputError, match=r"pylock\.toml not found"):
        pylock.load(tmp_path / "missing" / "pylock.toml")


def test_pinned_matches_what_pep751_can_express() -> None:
    env = environment()
    assert [p.name for p in env.packages if not p.pin.pinned] == list(env.unhashed)
    no_commit = Package(name="x", version="1", source="vcs", vcs="git", url="https://x/r.git")
    assert no_commit.pin == Pin(pinned=False, reason="no-commit")


def test_a_lock_with_nothing_pinned_is_still_valid(tmp_path: Path) -> None:
    env = environment()
    env = Environment(
        **{**env.__dict__, "packages": tuple(p for p in env.packages if not p.pin.pinned)}
    )
    path = pylock.write(tmp_path / "pylock.toml", env)
    assert Pylock.from_dict(valid_lock(path.read_text())).packages == []
    assert pylock.load(path) == env


def test_what_pep751_refuses_is_kept_in_tool_envsnap(tmp_path: Path) -> None:
    env = environment()
    odd = Package(
        name="odd",
        version="1.0",
        source="index",
        files=(
            ArtifactFile(
                name="not-a-wheel-name.whl", url="https://x/not-a-wheel-name.whl", sha256=H
            ),
        ),
    )
    relative = Package(name="rel", version="1", source="directory", url="file:relative/dir")
    env = Environment(
        **{
            **env.__dict__,
            "packages": tuple(sorted((*env.packages, odd, relative), key=lambda p: p.name)),
        }
    )
    text = pylock.render(env)
    data = valid_lock(text)
    assert "odd" in [u["name"] for u in data["tool"]["envsnap"]["unhashed"]]
    back = pylock.parse(text)
    assert back.package("odd") == odd and back.package("rel") == relative
