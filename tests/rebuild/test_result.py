"""Rebuild returns one record per kind, each with only its fields, and each prints the same
version 1 JSON envelope (every key, ``kind`` saying which) that scripts read before the split;
the rebuild flow's modules type every signature (no `Any`)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import envsnap.rebuild
from envsnap._record import fields
from envsnap.rebuild import ContextRendered, ImageBuilt, PrefixBuilt, RebuildResult, VenvBuilt

PACKAGE = Path(envsnap.rebuild.__file__).parent
FLOW = ("__init__.py", "inputs.py", "image.py", "prefix.py", "result.py", "venv.py")

V1_KEYS = sorted(
    [
        *("base_digest", "base_image", "base_pin", "base_reason", "base_ref", "context"),
        *("dockerfile", "files", "image_id", "image_record", "installed", "kind", "load_ms"),
        *("prefix", "pushed", "pushed_digest", "render_ms", "skipped", "tag", "venv", "version"),
    ]
)

RENDERED = ContextRendered(
    base_image="python:3.11.7-slim-bookworm",
    base_ref="python:3.11.7-slim-bookworm",
    base_pin="",
    base_reason="CPU-only capture",
    dockerfile="FROM python:3.11.7-slim-bookworm\n",
    context="/tmp/ctx",
    files=("Dockerfile", "requirements.txt"),
    installed=("numpy", "six"),
    skipped=("left-out",),
    load_ms=1.5,
    render_ms=2.5,
)
BUILT = ImageBuilt(
    rendered=RENDERED,
    image_id="sha256:" + "a" * 64,
    base_digest="python@sha256:" + "b" * 64,
    tag="demo:1",
    image_record="/cap/image.toml",
    pushed="registry.test/demo:1",
    pushed_digest="registry.test/demo@sha256:" + "c" * 64,
)
VENV = VenvBuilt(venv="/work/venv", installed=("six",), skipped=("left-out",))
PREFIX = PrefixBuilt(prefix="/work/prefix", installed=("python", "tinyconf", "six"))


@pytest.mark.parametrize(
    ("result", "kind"),
    [(RENDERED, "context"), (BUILT, "image"), (VENV, "venv"), (PREFIX, "prefix")],
)
def test_every_kind_prints_every_key_of_the_envelope(result: RebuildResult, kind: str) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    assert sorted(data) == V1_KEYS
    assert data["kind"] == kind and data["version"] == 1


def test_each_kind_fills_only_its_own_keys() -> None:
    venv = VENV.to_dict()
    assert (venv["venv"], venv["installed"], venv["skipped"]) == (
        "/work/venv",
        ["six"],
        ["left-out"],
    )
    assert venv["context"] is None and venv["dockerfile"] == venv["image_id"] == ""
    assert venv["prefix"] == ""
    prefix = PREFIX.to_dict()
    assert prefix["prefix"] == "/work/prefix" and prefix["venv"] == prefix["image_id"] == ""
    rendered = RENDERED.to_dict()
    assert rendered["files"] == ["Dockerfile", "requirements.txt"] and rendered["load_ms"] == 1.5
    assert rendered["image_id"] == rendered["venv"] == rendered["pushed"] == ""
    image = BUILT.to_dict()
    assert image == {**rendered, **{f.name: getattr(BUILT, f.name) for f in fields(BUILT)[1:]}} | {
        "kind": "image"
    }


def test_an_image_carries_the_context_it_was_built_from() -> None:
    assert fields(ImageBuilt)[0].name == "rendered" and BUILT.rendered is RENDERED
    assert not {f.name for f in fields(VenvBuilt)} & {"dockerfile", "image_id", "base_ref"}
    assert not {f.name for f in fields(ContextRendered)} & {"image_id", "venv", "pushed"}
    assert not {f.name for f in fields(PrefixBuilt)} & {"venv", "dockerfile", "image_id"}


def _any_in_signatures(source: str) -> list[str]:
    """``name: annotation`` of every function signature in *source* that mentions `Any`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            args += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
            notes = [(a.arg, a.annotation) for a in args] + [("return", node.returns)]
            found += [
                f"{node.name}: {n}: {ast.unparse(a)}"
                for n, a in notes
                if a is not None and "Any" in ast.unparse(a)
            ]
    return found


@pytest.mark.parametrize("module", FLOW)
def test_the_rebuild_flow_types_every_signature(module: str) -> None:
    assert _any_in_signatures((PACKAGE / module).read_text(encoding="utf-8")) == []


def test_the_signature_check_can_fail() -> None:
    planted = "def _record(result: R, done: Any) -> dict[str, Any]: ..."
    assert _any_in_signatures(planted) == ["_record: done: Any", "_record: return: dict[str, Any]"]
