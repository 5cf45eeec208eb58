"""Random damage to a real capture never gives a traceback, an exit code other than 0/1/2, or a
file outside the output folder (issue #9).

A capture of a venv holding an index package, a hashed direct-URL archive and determinism
variables is mutated by hypothesis: a value anywhere in pylock.toml or hardware.toml replaced by
another type, a deep nesting, control characters or a hostile path, a key deleted, or the raw
text cut or spliced. `check`, `diff` and `rebuild --no-build` run on it through `cli.main` in
this process (the subprocess tests in this folder cover the real entry point); an error must be
one the layers anticipate, so the CLI's catch-all for unexpected exceptions must not fire.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envsnap import cli
from tests.conftest import run_envsnap
from tests.fakes.sitepackages import write_dist_info
from tests.fakes.venvs import make_venv, site_packages
from tests.security.conftest import offline_env

FILES = ("pylock.toml", "hardware.toml")
HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(list("a1.-_/:$`;|&'\" \\\x00\x07\x1b\r\n\t\u202eé")),
    max_size=30,
)
PATHS = st.sampled_from(
    ["../../etc/passwd", "/dev/zero", "file:///etc/passwd", "/", "..", "~/.ssh/id_rsa", ""]
)
SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(), HOSTILE_TEXT, PATHS
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture(scope="module")
def real_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("property")
    python = make_venv(root / "venv")
    site = site_packages(python)
    write_dist_info(site, "demo", "1.0")
    archive = {"archive_info": {"hashes": {"sha256": "b" * 64}}}
    write_dist_info(
        site, "arch", "2.0", direct_url={"url": "https://x.example/arch-2.0.tar.gz", **archive}
    )
    out = root / "capture"
    env = offline_env(root, OMP_NUM_THREADS="4", CUBLAS_WORKSPACE_CONFIG=":4096:8")
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", str(out), env=env
    )
    assert done.returncode == 0, done.stderr
    return out


def _paths(node: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*here, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value if isinstance(value, dict) else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if value is None and isinstance(parent, dict):
        del parent[path[-1]]
    elif value is not None:
        parent[path[-1]] = value
    return doc


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str, Any, int, str]:
    name = draw(st.sampled_from(FILES))
    kind = draw(
        st.sampled_from(["value", "value", "value", "delete", "deep", "raw-deep", "splice"])
    )
    value = draw(VALUES) if kind == "value" else None
    if kind == "deep":
        value = _deep(draw(st.sampled_from([30, 200, 3000])))
    return name, kind, value, draw(st.integers(min_value=0, max_value=10**6)), draw(HOSTILE_TEXT)


def _mutate(folder: Path, mutation: tuple[str, str, Any, int, str]) -> None:
    name, kind, value, pick, text = mutation
    path = folder / name
    raw = path.read_text()
    if kind == "splice":
        at = pick % (len(raw) + 1)
        path.write_text(raw[:at] + text + raw[at + len(text) // 2 :])
        return
    if kind == "raw-deep":  # deeper than any TOML writer goes: straight into the text
        depth = 100 + pick % 5000
        path.write_text(raw + "\nzz = " + "[" * depth + "]" * depth + "\n")
        return
    doc = tomllib.loads(raw)
    # Keys rather than list items: the long lists (CPU flags, platform tags) would take most
    # draws otherwise; the first two items of each list stand for the rest.
    targets = [p for p in _paths(doc) if p and all(not isinstance(k, int) or k < 2 for k in p)]
    where = targets[pick % len(targets)]
    doc = _set(doc, where, value)
    try:
        path.write_text(tomli_w.dumps(doc))
    except (TypeError, ValueError, RecursionError):
        path.write_text(raw[: pick % (len(raw) + 1)])  # not writable as TOML: cut instead


def _files(root: Path, skip: tuple[Path, ...]) -> set[str]:
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        out.update(str(here / f) for f in filenames)
    return out


def _run(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, err.getvalue()


@settings(
    max_examples=60,
    database=None,  # no .hypothesis folder in the tree; failures print their example
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation=mutations())
def test_mutated_captures_exit_0_1_or_2_and_write_only_the_output(
    real_capture: Path, mutation: tuple[str, str, Any, int, str]
) -> None:
    with tempfile.TemporaryDirectory(prefix="envsnap-prop-") as tmp:
        work = Path(tmp)
        cap = work / "capture"
        shutil.copytree(real_capture, cap)
        _mutate(cap, mutation)
        out = work / "out"
        cache = work / "cache"
        os.environ["ENVSNAP_CACHE_DIR"] = str(cache)  # restored by the autouse fixture
        before = _files(work, (out, cache))
        for argv in (
            ("check", str(cap)),
            ("diff", str(cap), str(real_capture)),
            ("diff", str(real_capture), str(cap)),
            ("rebuild", str(cap), "--no-build", "--context", str(out)),
        ):
            code, err = _run(*argv)
            assert code in (0, 1, 2), (argv, code, err)
            assert "Traceback" not in err
            assert "ENVSNAP_DEBUG" not in err, (argv, mutation, err)  # an anticipated error
        assert _files(work, (out, cache)) == before
