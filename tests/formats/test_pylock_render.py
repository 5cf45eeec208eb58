"""pylock.render's fast emitter: the same bytes as rendering through `packaging.pylock` objects.

The reference below is the generic path render used before (build `packaging.pylock.Package`
objects, ``validate()``, ``to_dict()``, tomli_w for every value); the fast path must agree with
it byte for byte, and everything it writes must be a lock `packaging.pylock` accepts.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pytest
import tomli_w
from packaging import pylock as pl
from packaging.version import InvalidVersion, Version

from envsnap import _names, model
from envsnap.formats import pylock, tomlwrite
from envsnap.model import ArtifactFile, Environment, Package

from .test_pylock import H, environment, valid_lock

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return tomli_w.dumps({"v": value})[len("v = ") : -1]


def _extra(p: Package) -> dict[str, Any]:
    extra: dict[str, Any] = {"source": p.source, "requested": p.requested}
    for key, value in (
        ("installer", p.installer),
        ("wheel-tags", list(p.wheel_tags)),
        ("installed-file", p.installed_file),
    ):
        if value:
            extra[key] = value
    try:
        exact = str(Version(p.version)) == p.version
    except InvalidVersion:
        exact = False
    if not exact:
        extra["version"] = p.version
    if p.source in ("directory", "editable") and p.url != pylock._path_url(
        pylock._url_path(p.url or "")
    ):
        extra["url"] = p.url
    return extra


def reference_render(env: Environment) -> str:
    """The generic render: packaging.pylock objects, validate(), to_dict(), tomli_w."""
    pkgs = sorted(env.packages, key=lambda p: p.name)
    ok = [p for p in pkgs if p.pin.pinned and pylock._valid(env, p)]
    objects = [dataclasses.replace(pylock._to_pylock(p), tool={"envsnap": _extra(p)}) for p in ok]
    tool = pylock._tool_table(env, [p for p in pkgs if p not in ok])
    lock = pl.Pylock(
        lock_version=Version("1.0"), created_by="envsnap", packages=objects, tool={"envsnap": tool}
    )
    lock.validate()
    doc = lock.to_dict()
    top = {k: v for k, v in doc.items() if k not in ("packages", "tool")}
    if not doc["packages"]:
        top["packages"] = []
    parts = [tomli_w.dumps(top)]
    for pkg in doc["packages"]:
        lines = ["[[packages]]"]
        for key, value in pkg.items():
            if key == "wheels":
                lines += ["wheels = [", *(f"    {_inline(w)}," for w in value), "]"]
            elif key != "tool":
                lines.append(f"{key} = {_inline(value)}")
        lines += ["", "[packages.tool.envsnap]"]
        lines += [f"{key} = {_inline(value)}" for key, value in pkg["tool"]["envsnap"].items()]
        parts.append("\n".join(lines) + "\n")
    parts.append(tomli_w.dumps({"tool": doc["tool"]}))
    return pylock.HEADER + "\n\n" + "\n".join(parts)


def _with(env: Environment, *extra: Package) -> Environment:
    packages = tuple(sorted((*env.packages, *extra), key=lambda p: p.name))
    return model.replace(env, packages=packages)


def _wheel(name: str, **kwargs: Any) -> ArtifactFile:
    return ArtifactFile(name=name, url=f"https://x/{name}", sha256=H, **kwargs)


ODD = (
    # PEP 751 refuses these: to [tool.envsnap].
    Package(name="bad-wheel", version="1", source="index", files=(_wheel("bad-wheel.whl"),)),
    Package(name="other", version="1", source="index", files=(_wheel("x-1-py3-none-any.whl"),)),
    Package(name="later", version="1", source="index", files=(_wheel("later-2-py3-none-any.whl"),)),
    Package(
        name="no-where", version="1", source="index", files=(ArtifactFile(name="a", sha256=H),)
    ),
    Package(name="Not_Normal", version="1", source="url", url="https://x/a.zip", archive_sha256=H),
    Package(name="bad-sdist", version="1", source="index", files=(_wheel("bad_sdist-2.tar.gz"),)),
    Package(name="vcs-no-url", version="1", source="vcs", url="", vcs="git", commit_id="c" * 40),
    # Accepted, though the fast check is unsure of them: packaging.pylock decides.
    Package(
        name="normal",
        version="1.0.0",
        source="index",
        files=(_wheel("Normal-1.0-py3-none-any.whl"),),
    ),
    Package(
        name="built",
        version="1",
        source="index",
        files=(_wheel("built-1-7b-py2.py3-none-any.whl"), _wheel("built-1.zip")),
    ),
    Package(
        name="weird-v", version="not a version", source="url", url="https://x/w", archive_sha256=H
    ),
    # Strings TOML must escape, and a non-ASCII one it must not.
    Package(
        name="esc",
        version="1",
        source="vcs",
        vcs="git",
        url='https://x/"q"\\b\x01\x7f\t\n\u00e9',
        commit_id="c" * 40,
        requested_revision="a\rb\x0cc\x08",
        subdirectory="s",
    ),
    Package(name="rel", version="1", source="directory", url="file:relative/dir"),
    Package(
        name="odd-file",
        version="1",
        source="index",
        files=(
            ArtifactFile(name="odd_file-1-py3-none-any.whl", path="w/odd_file.whl", sha256=H),
            ArtifactFile(name="odd_file-1.tar.gz", url='https://x/"q"/odd_file-1.tar.gz', sha256=H),
        ),
    ),
    Package(
        name="t",
        version="1",
        source="index",
        files=(
            _wheel("t-1-py3-none-any.whl", upload_time="2024-01-01T01:00:00+01:00", size=0),
            _wheel("t-1.tar.gz", upload_time="not a time"),
        ),
    ),
)


@pytest.mark.parametrize("env", [environment(), _with(environment(), *ODD)], ids=["plain", "odd"])
def test_fast_render_is_byte_for_byte_the_generic_one(env: Environment) -> None:
    text = pylock.render(env)
    assert text == reference_render(env)
    valid_lock(text)


def test_refused_packages_go_to_tool_envsnap() -> None:
    data = valid_lock(pylock.render(_with(environment(), *ODD)))
    unhashed = {u["name"] for u in data["tool"]["envsnap"]["unhashed"]}
    refused = {"bad-wheel", "other", "later", "no-where", "Not_Normal", "bad-sdist", "vcs-no-url"}
    assert refused <= unhashed
    assert not unhashed & {"normal", "built", "weird-v", "esc", "rel", "t", "odd-file"}


@pytest.mark.parametrize(
    "text",
    ["plain", "", 'a"b', "back\\slash", "tab\there", "nl\ncr\r", "\x00\x1f\x7f", "\u00e9\u2014"],
)
def test_toml_string_escapes_like_tomli_w(text: str) -> None:
    assert tomlwrite.toml_string(text) == tomli_w.dumps({"v": text})[len("v = ") : -1]
    assert tomllib.loads(f"v = {tomlwrite.toml_string(text)}")["v"] == text


def test_a_large_lock_is_valid_and_round_trips() -> None:
    tags = ("cp311-cp311-manylinux_2_17_x86_64", "cp312-cp312-win_amd64", "py3-none-any")
    packages = tuple(
        Package(
            name=f"pkg-{i:03d}",
            version=f"{i}.0.{i % 7}",
            source="index",
            installer="pip",
            wheel_tags=(tags[0],),
            index="https://pypi.org/simple",
            installed_file=f"pkg_{i:03d}-{i}.0.{i % 7}-{tags[0]}.whl",
            files=tuple(
                ArtifactFile(
                    name=f"pkg_{i:03d}-{i}.0.{i % 7}-{tag}.whl",
                    url=f"https://files.example/p/{i}/{j}/pkg_{i:03d}-{tag}.whl",
                    sha256=f"{i:032x}{j:032x}",
                    size=1000 + j,
                    upload_time=f"2025-01-{1 + j % 28:02d}T00:00:0{j % 10}.{j + 1:06d}Z",
                )
                for j, tag in enumerate(tags * 4)
            )[: len(tags)],
        )
        for i in range(400)
    )
    env = model.replace(environment(), packages=packages, unhashed=())
    text = pylock.render(env)
    lock = pl.Pylock.from_dict(valid_lock(text))
    assert len(lock.packages) == 400
    assert sum(len(p.wheels or ()) for p in lock.packages) == 1200
    assert pylock.parse(text) == env


@pytest.mark.parametrize(
    "version",
    [
        "1",
        "1.0",
        "1.0.0",
        "2.13.0+cpu",
        "2.4.0+cu121.abc",
        "1.0a1",
        "1.0rc2.post3.dev4",
        "0.3.dev1",
        "2026.10.19.post1",
        "1.0+01",
        "1.0+0.x1",
        "01.0",
        "1.0-1",
        "1.0.post1.dev0",
        "1!2.0",
        "1.0A1",
        "1.0alpha1",
        "1.0+CPU",
        "1.0+cpu_1",
        "v1.0",
        "1.0.",
        "not a version",
        "",
    ],
)
def test_normalized_version_is_packagings(version: str) -> None:
    try:
        expected: str | None = str(Version(version))
    except InvalidVersion:
        expected = None
    assert _names.normalized_version(version) == expected


def test_toml_document_lays_tables_out_as_tomli_w() -> None:
    long = "x" * 90
    doc: dict[str, Any] = {
        "tool": {
            "envsnap": {
                "schema-version": 1,
                "ratio": 0.5,
                "flag": False,
                "empty": [],
                "nothing": {},
                "tags": ["a", 'q"uote'],
                "short": [{"name": "torch", "version": "2.13.0+cpu"}],
                "long": [{"name": "a", "source": long}, {"name": "b"}],
                "nested": [{"name": "n", "wheel-tags": ["py3-none-any"]}],
                "mixed": [1, [2, [3]], {"k": [4]}],
                "table": {"A B": "spaced key", "": "empty key", "plain": {"deep": True}},
                "envvars": {"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "caf\u00e9": "x"},
            }
        }
    }
    assert tomlwrite.toml_document(doc) == tomli_w.dumps(doc)
    when = {"at": datetime(2024, 1, 1, tzinfo=timezone.utc)}  # not a capture type: tomli_w's
    assert tomlwrite.toml_document(when) == tomli_w.dumps(when)
