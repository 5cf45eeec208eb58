"""envsnap._jsonfast.loads: what json.loads returns, and json's own error where it refuses."""

from __future__ import annotations

import json
import math

import pytest

from envsnap._jsonfast import loads

DOCUMENTS = [
    '{"a": [1, 2.5, -0, 1e400, "x", null, true, false], "b": {"c": "\\u00e9\\ud83d\\ude00"}}',
    "  [1, 2, 3]  \n",
    '"\\ud800"',  # a lone surrogate, as json allows
    "12345678901234567890123456789",
    "[NaN, Infinity, -Infinity]",
    "\t{}\r\n",
    "",
    "   ",
    "[1, 2",
    "[1, 2] x",
    "{} {}",
    "{'a': 1}",
    '"a\tb"',  # a raw tab in a string: json is strict
    '"\\x"',
    "nul",
    "[" * 100000 + "]" * 100000,  # deeper than the decoder goes
    "\ufeff{}",
    "\x0c{}",  # a form feed is not JSON whitespace
]


def _outcome(fn: object, doc: str | bytes) -> tuple[str, object]:
    try:
        value = fn(doc)  # type: ignore[operator]
    except RecursionError:
        return "RecursionError", None
    except ValueError as exc:
        return type(exc).__name__, str(exc)
    return "ok", json.dumps(value, allow_nan=True) if not _has_nan(value) else repr(value)


def _has_nan(value: object) -> bool:
    return isinstance(value, list) and any(isinstance(v, float) and math.isnan(v) for v in value)


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_text_and_bytes_read_as_json_loads_reads_them(doc: str) -> None:
    assert _outcome(loads, doc) == _outcome(json.loads, doc)
    for encoding in ("utf-8", "utf-16", "utf-32-le", "utf-8-sig"):
        try:
            data = doc.encode(encoding, "surrogatepass")
        except UnicodeEncodeError:
            continue
        assert _outcome(loads, data) == _outcome(json.loads, data), encoding
    assert _outcome(loads, b"\xff\xfe\xfd") == _outcome(json.loads, b"\xff\xfe\xfd")
    assert _outcome(loads, b'"\xc3"') == _outcome(json.loads, b'"\xc3"')  # not UTF-8


def test_reading_json_loads_no_json_module() -> None:
    from tests.fakes.imports import loaded

    code = (  # asserted in the run: the harness itself imports json to answer
        "import sys\nfrom envsnap._jsonfast import loads\n"
        "assert loads(b' {\"a\": [1]} ') == {'a': [1]}\n"
        "assert 'json' not in sys.modules\n"
    )
    assert loaded(code, ("envsnap.nothing",)) == []
