"""The subset reader of conda-lock.yml (`condalock._read_subset`, the fast path beside PyYAML)
against PyYAML itself, on generated input: what the writer emits, PyYAML reads as the same data
and the subset reader reads back whole; and on any damaged text, the subset reader either reads
exactly what PyYAML reads or declines (`_Unsupported`), so that PyYAML decides."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from envsnap.formats import condalock
from envsnap.model import CondaEnv, CondaPackage, replace
from tests.fakes import samples

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KEYS = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),  # bare keys
    st.sampled_from(["on", "Off", "yes", "NO", "true", "Null", "null", "y", "n", "~"]),
    st.text(max_size=12),  # quoted keys: spaces, colons, quotes, controls, beyond the BMP
)
SCALARS = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.just({}),
    st.just([]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4),
        st.dictionaries(KEYS, inner, min_size=1, max_size=4),
    ),
    max_leaves=16,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=6)


def written(doc: dict[str, Any]) -> str:
    return "\n".join([condalock.HEADER, *condalock._emit(doc, 0)]) + "\n"


def pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=LOADER)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS)
def test_what_the_writer_emits_reads_the_same_in_pyyaml_and_the_subset(doc: dict[str, Any]) -> None:
    text = written(doc)
    assert pyyaml(text) == doc
    assert condalock._read_subset(text) == doc


NAMES = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@st.composite
def conda_envs(draw: st.DrawFn) -> Any:
    """Conda environments as a capture records them, names and strings drawn freely."""
    base = samples.conda_env()
    assert base.conda is not None
    packages = [
        CondaPackage(
            name=draw(NAMES),
            version=draw(WORDS),
            build=draw(WORDS),
            channel=draw(WORDS),
            url=draw(WORDS),
            md5=draw(st.sampled_from(["", "d" * 32])),
            sha256=draw(st.sampled_from(["", "e" * 64])),
            depends=tuple(draw(st.lists(st.tuples(NAMES, WORDS).map(" ".join), max_size=4))),
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    conda = CondaEnv(platform="linux-64", channels=tuple(draw(st.lists(WORDS, max_size=3))))
    return replace(base, conda=replace(conda, packages=tuple(packages)))


@settings(max_examples=100, deadline=None)
@given(conda_envs())
def test_a_rendered_conda_lock_reads_the_same_in_pyyaml_and_the_subset(env: Any) -> None:
    text = condalock.render(env)
    data = pyyaml(text)
    assert data == condalock.to_dict(env)
    assert condalock._read_subset(text) == data
    assert condalock.parse(text) == condalock.from_dict(data, "conda-lock.yml")


# Characters that matter to YAML's block syntax, and a few that matter to its scanner.
DAMAGE = st.sampled_from(list(" -:#\"'[]{},&*!|>%@`\t\r\n\\0123456789.eE+tfnuly~?\x85\u2028\ufeff"))


@st.composite
def damaged(draw: st.DrawFn) -> str:
    text = written(draw(DOCUMENTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(DAMAGE)
        if how == "insert":
            text = text[:at] + ch + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + ch + text[at + 1 :]
    return text


@settings(max_examples=600, deadline=None)
@given(damaged())
def test_damaged_text_reads_as_pyyaml_reads_it_or_not_at_all(text: str) -> None:
    try:
        fast = condalock._read_subset(text)
    except condalock._Unsupported:
        return
    assert pyyaml(text) == fast


@pytest.mark.parametrize(
    "text",
    [
        "on: 1\n",  # PyYAML: {True: 1}
        "a: 1e+16\n",  # PyYAML: the string '1e+16'
        "a:1\n",  # PyYAML: the plain string 'a:1'
        "a: 1\n\tb: 2\n",  # a tab in the indentation
        "a: 1\r\nb: 2\r\n",
        "a: [1.5]\n",
        '- - {}\n  -  - null\n    - ""\n',  # a block item further right (found by hypothesis)
    ],
)
def test_texts_where_json_and_yaml_disagree_go_to_pyyaml(text: str) -> None:
    with pytest.raises(condalock._Unsupported):
        condalock._read_subset(text)


def test_keys_yaml_reads_as_booleans_and_characters_beyond_the_bmp_are_written_for_yaml() -> None:
    doc = {"on": "\U0001f600", "null": ["x\U0001f600y"], "yes": {"off": 1}}
    text = written(doc)
    assert '"on": "\U0001f600"' in text and "\\ud83d" not in text
    assert pyyaml(text) == doc == condalock._read_subset(text)


def test_surrogate_escapes_envsnap_once_wrote_are_still_read() -> None:
    """The one text the subset reads and PyYAML refuses: JSON's surrogate-pair escape of a
    character beyond the BMP, as envsnap wrote it before it wrote such characters as
    themselves. Such a file reads as it always did."""
    old = 'a: "\\ud83d\\ude00"\n'
    assert condalock._read_subset(old) == {"a": "\U0001f600"}
    with pytest.raises(yaml.YAMLError):
        pyyaml(old)
