"""`envsnap.formats.tomlwrite` writes what tomli_w writes, byte for byte, on random documents."""

from __future__ import annotations

import math
from typing import Any

import tomli_w
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st

from envsnap.formats import tomlwrite

KEYS = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    st.text(max_size=12),  # quoted keys: spaces, quotes, controls, non-ASCII, empty
)
SCALARS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="ascii"), min_size=60, max_size=120),  # long lines
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(KEYS, inner, max_size=4),
        ),
        max_leaves=12,
    )


DOCUMENTS = st.dictionaries(KEYS, _values(SCALARS), max_size=6)


@settings(max_examples=400, deadline=None)
@given(DOCUMENTS)
def test_random_documents_as_tomli_w_writes_them(doc: dict[str, Any]) -> None:
    assert tomlwrite.toml_document(doc) == tomli_w.dumps(doc)


@settings(max_examples=200, deadline=None)
@given(DOCUMENTS)
def test_what_it_writes_reads_back(doc: dict[str, Any]) -> None:
    assert tomllib.loads(tomlwrite.toml_document(doc)) == doc


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_strings_escape_as_tomli_w(text: str) -> None:
    assert tomlwrite.toml_string(text) == tomli_w.dumps({"v": text})[len("v = ") : -1]


def test_floats_and_the_fallback() -> None:
    doc = {"a": 1e16, "b": -0.0, "c": 0.1, "d": math.pi}
    assert tomlwrite.toml_document(doc) == tomli_w.dumps(doc)
    assert tomli_w.dumps({"x": (1, 2)}) == tomlwrite.toml_document({"x": (1, 2)})
