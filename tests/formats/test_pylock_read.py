"""The fast read path of pylock.toml: never a different answer from tomllib + packaging.pylock.

`_pylockread.loads` must give exactly tomllib's document or step aside (`Unsure`), and
`surely_valid` may say True only where `Pylock.from_dict` accepts. Both are checked on real
rendered locks and on thousands of randomly damaged ones.
"""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from packaging.pylock import Pylock, PylockValidationError

from envsnap.errors import InputError
from envsnap.formats import pylock
from envsnap.formats._pylockread import Unsure, loads, surely_valid
from envsnap.model import ArtifactFile, Environment, Package, replace
from tests.fakes.lockenv import environment

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def same(a: Any, b: Any) -> bool:
    """Deep equality that also compares types (1 == True and 1 == 1.0 in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, datetime):
        return bool(a == b and a.tzinfo == b.tzinfo)
    return bool(a == b)  # a scalar


def big_environment(count: int = 40, per: int = 25) -> Environment:
    """*count* index packages with *per* wheels each (like the bench's reference capture), and
    a package of every other kind."""
    base = environment()
    pkgs = []
    for i in range(count):
        name = f"pkg-{i}"
        wheels = [
            ArtifactFile(
                name=f"pkg_{i}-1.{i}.0-cp3{j}-cp3{j}-manylinux_2_17_x86_64.whl",
                url=f"https://files.example/p/pkg_{i}-1.{i}.0-cp3{j}-cp3{j}-manylinux_2_17_x86_64.whl",
                sha256=f"{i:02x}{j:02x}" * 16,
                size=1000 + j,
                upload_time=f"2025-0{1 + j % 9}-1{j % 10}T10:20:3{j % 10}.{j + 1:06d}Z",
            )
            for j in range(per)
        ]
        sdist = ArtifactFile(
            name=f"pkg_{i}-1.{i}.0.tar.gz",
            url=f"https://files.example/p/pkg_{i}-1.{i}.0.tar.gz",
            sha256="ab" * 32,
        )
        files = (*wheels, sdist)
        pkgs.append(
            Package(
                name=name,
                version=f"1.{i}.0",
                source="index",
                index="https://pypi.org/simple",
                files=tuple(sorted(files, key=lambda f: f.name)),
                wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",),
                installed_file=files[0].name,
                installer="pip",
            )
        )
    # Every kind of package but with nothing to escape (see test_escaped_strings_go_to_tomllib).
    kinds = [
        replace(p, requested_revision="release/v1") if p.requested_revision else p
        for p in base.packages
    ]
    return Environment(
        **{**base.__dict__, "packages": tuple(sorted(pkgs + kinds, key=lambda p: p.name))}
    )


def fast(text: str) -> dict[str, Any] | None:
    try:
        return loads(text)
    except Unsure:
        return None


def slow(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def pep751_ok(data: dict[str, Any]) -> bool:
    try:
        Pylock.from_dict(data)
    except PylockValidationError:
        return False
    return True


def test_envsnap_locks_take_the_fast_path_and_read_the_same() -> None:
    env = big_environment()
    text = pylock.render(env)
    data = loads(text)  # no Unsure: envsnap's own layout
    assert same(data, tomllib.loads(text))
    assert surely_valid(data) and pep751_ok(data)
    assert pylock.parse(text) == env


def test_escaped_strings_go_to_tomllib() -> None:
    env = environment()  # a requested revision with a quote in it: escaped
    text = pylock.render(env)
    assert '\\"' in text
    with pytest.raises(Unsure):
        loads(text)
    assert pylock.parse(text) == env
    plain = text.replace('release/\\"v1\\" ', "release/v1 ")
    assert same(loads(plain), tomllib.loads(plain))


MUTATIONS = ['"', "\\", "[", "]", "{", "}", ",", "=", "#", " ", "\n", "\t", "\r", ".", "-", "0"]
MUTATIONS += ["Z", "'", "x", "_", "1", "+", ":", "T", "\x7f", "é", '"""', "[[", "]]", "\u0663"]


def damaged(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    kind = rng.randrange(6)
    if kind == 0:  # drop a character
        pos = rng.randrange(len(text))
        return text[:pos] + text[pos + 1 :]
    if kind == 1:  # insert a TOML-significant character
        pos = rng.randrange(len(text))
        return text[:pos] + rng.choice(MUTATIONS) + text[pos:]
    if kind == 2:  # repeat a line
        i = rng.randrange(len(lines))
        return "\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if kind == 3:  # drop a line
        i = rng.randrange(len(lines))
        return "\n".join(lines[:i] + lines[i + 1 :])
    if kind == 4:  # move a line
        line = lines.pop(rng.randrange(len(lines)))
        lines.insert(rng.randrange(len(lines)), line)
        return "\n".join(lines)
    pos = rng.randrange(len(text))  # replace a character
    return text[:pos] + rng.choice(MUTATIONS) + text[pos + 1 :]


def test_damaged_locks_never_read_differently_nor_pass_where_packaging_refuses() -> None:
    text = pylock.render(big_environment(2, 2))
    rng = random.Random(751)
    taken = 0
    for _ in range(1200):
        bad = damaged(damaged(text, rng), rng) if rng.random() < 0.3 else damaged(text, rng)
        got = fast(bad)
        if got is None:
            continue  # tomllib reads it: nothing to compare
        taken += 1
        want = slow(bad)
        assert want is not None, bad
        assert same(got, want), bad
        if surely_valid(got):
            assert pep751_ok(want), bad
    assert taken > 300  # many single changes still read fast (the check is not vacuous)


def _variants(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Documents one field away from *data*: wrong types, missing keys, odd names."""
    out = []
    values: list[Any] = [None, "", "x", "1.0", "2.0", 1, True, [], {}, [1], {"a": "b"}]
    values += [datetime(2024, 1, 1, tzinfo=timezone.utc), "Numpy", "1.0.0", "01.0", "a--b"]

    def walk(node: Any, path: list[Any]) -> None:
        keys: list[Any] = list(node) if isinstance(node, dict) else list(range(len(node)))
        for key in keys:
            for value in values:
                doc = copy.deepcopy(data)
                target: Any = doc
                for p in path:
                    target = target[p]
                if value is None:
                    del target[key]
                else:
                    target[key] = value
                out.append(doc)
            child = node[key]
            if isinstance(child, (dict, list)) and child:
                walk(child, [*path, key])

    walk(data, [])
    return out


def test_surely_valid_never_accepts_what_packaging_refuses() -> None:
    env = environment()
    data = tomllib.loads(pylock.render(env))
    data["packages"] = data["packages"][:6]  # every kind, fewer variants
    accepted = 0
    for doc in _variants(data):
        if surely_valid(doc):
            accepted += 1
            assert pep751_ok(doc), doc
    assert accepted > 100


def test_wheel_and_sdist_names_must_match_the_package() -> None:
    data = tomllib.loads(pylock.render(environment()))
    numpy = next(p for p in data["packages"] if p["name"] == "numpy")
    assert surely_valid(data)
    for field, value in [
        ("name", "numpy-2.1.1-cp311-cp311-linux_x86_64.whl"),
        ("name", "scipy-2.1.0-cp311-cp311-linux_x86_64.whl"),
        ("name", "numpy-2.1.0-cp311-cp311.whl"),
        ("name", "numpy-2.1.0.tar.gz"),
    ]:
        doc = copy.deepcopy(data)
        next(p for p in doc["packages"] if p["name"] == "numpy")["wheels"][0][field] = value
        assert not surely_valid(doc) and not pep751_ok(doc)
    doc = copy.deepcopy(data)
    next(p for p in doc["packages"] if p["name"] == "numpy")["sdist"]["name"] = "numpy-2.0.tar.gz"
    assert not surely_valid(doc) and not pep751_ok(doc)
    assert numpy["wheels"]


def test_other_layouts_are_read_by_tomllib_and_checked_by_packaging(tmp_path: Path) -> None:
    text = pylock.render(environment())
    # Comments, escapes, a marker: all valid, none in the fast layout.
    odd = text.replace(
        '[[packages]]\nname = "numpy"',
        '[[packages]] # the array\nname = "nu\\u006dpy"\nmarker = "python_version >= \'3.9\'"',
    )
    with pytest.raises(Unsure):
        loads(odd)
    path = tmp_path / "pylock.toml"
    path.write_text(odd, encoding="utf-8")
    assert pylock.load(path) == environment()
    # Valid TOML that packaging refuses is refused the same way, whichever path reads it.
    for broken in (
        text.replace('lock-version = "1.0"', 'lock-version = "2.0"'),
        text.replace('name = "numpy"', 'name = "NumPy"', 1),
        text.replace('name = "numpy"', '# c\nname = "NumPy"', 1),
    ):
        path.write_text(broken, encoding="utf-8")
        with pytest.raises(InputError, match="not a valid PEP 751 lock"):
            pylock.load(path)


def test_an_envsnap_lock_is_read_without_importing_packaging_pylock(tmp_path: Path) -> None:
    path = pylock.write(tmp_path / "pylock.toml", big_environment(5))
    code = (
        "import sys; from envsnap.formats import pylock; "
        f"pylock.load({str(path)!r}); print('packaging.pylock' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "False"


def sdist(middle: str) -> str:
    return f'sdist = {{ name = "a-1.tar.gz", {middle}, hashes = {{ sha256 = "h" }} }}'


@pytest.mark.parametrize(
    "line",
    [
        sdist('upload-time = 2024-02-30T10:00:00Z, url = "u"'),
        sdist('upload-time = 2024-01-0\u0663T10:00:00Z, url = "u"'),
        sdist('upload-time = 2024-01-01T10:00:00.1234567Z, url = "u"'),
        sdist('upload-time = 2024-01-01 10:00:00Z, url = "u"'),
        sdist('upload-time = 2024-01-01T10:00:00+01:00, url = "u"'),
        sdist('url = "u", size = 01'),
        sdist('url = "u", size = 1_000'),
        sdist('url = "u", size = \u0661'),
        sdist('url = "u", size = -1'),
        sdist('url = "u", url = "v"'),
        sdist('url = "u",'),
        'sdist = {name = "a-1.tar.gz", url = "u", hashes = {sha256 = "h"}}',
        'index = "https://x"  ',
        'index = "https://x" # comment',
        'index = "https://x"\r',
        "index = 'https://x'",
        'index = "https://\tx"',
        "index = True",
        'name = "a"',
        'tool = { envsnap = { source = "index" } }',
    ],
)
def test_tricky_lines_read_as_tomllib_reads_them_or_not_at_all(line: str) -> None:
    text = (
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "a"\nversion = "1"\n'
        f'{line}\n\n[packages.tool.envsnap]\nsource = "index"\n'
    )
    got, want = fast(text), slow(text)
    assert got is None or (want is not None and same(got, want))


HEAD = 'lock-version = "1.0"\ncreated-by = "x"\n'


@pytest.mark.parametrize(
    "tables",
    [
        "[tool.envsnap]\na = 1\n[tool.envsnap]\nb = 2",
        "[tool.envsnap]\na = 1\n[tool]\nb = 2",
        "[tool.envsnap.blas]\na = 1\n[[tool.envsnap.blas]]\nb = 2",
        "[[tool.envsnap.blas]]\na = 1\n[tool.envsnap.blas]\nb = 2",
        "[[tool.envsnap.blas]]\na = 1\n[[tool.envsnap.blas]]\nb = 2\n[tool.envsnap.blas.x]\nc = 3",
        "[tool.envsnap.python]\nx = 1\n[tool.envsnap.python.x]\ny = 2",
        "[tool.envsnap.python]\nx = { a = 1 }\n[tool.envsnap.python.x.b]\ny = 2",
        "[tool.envsnap.python]\nx = [1]\n[[tool.envsnap.python.x]]\ny = 2",
        "[packages.tool.envsnap]\na = 1\n[[packages]]\nname = 'a'",
        '[[packages]]\nname = "a"\n[packages.tool]\n[packages.tool.envsnap]\na = 1',
        '[[packages]]\nname = "a"\ntool = 1\n[packages.tool.envsnap]\na = 1',
        "[ tool.envsnap ]\na = 1",
        '[tool."envsnap"]\na = 1',
        "[tool.envsnap]]\na = 1",
        "[[tool.envsnap]\na = 1",
        "[tool..envsnap]\na = 1",
        "[lock-version.x]\na = 1",
        "[tool.envsnap]\n# a comment\na = 1",
        "[tool.envsnap]\na = [\n    1,\n    [2],\n]",
        "[tool.envsnap]\na = [\n    1,\n]\nb = [\n]",
    ],
)
def test_table_headers_read_as_tomllib_reads_them_or_not_at_all(tables: str) -> None:
    text = f"{HEAD}\n{tables}\n"
    got, want = fast(text), slow(text)
    assert got is None or (want is not None and same(got, want))


def test_nested_tables_and_arrays_of_tables_read_fast() -> None:
    text = (
        f'{HEAD}\n[[packages]]\nname = "a"\n[packages.tool]\n[packages.tool.envsnap]\nx = 1\n\n'
        '[[packages]]\nname = "b"\n\n[tool.envsnap]\na = 1\n[[tool.envsnap.blas]]\nn = "x"\n'
        '[[tool.envsnap.blas]]\nn = "y"\n[tool.envsnap.blas.more]\nm = true\n'
    )
    assert same(loads(text), tomllib.loads(text))
