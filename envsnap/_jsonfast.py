"""JSON text read as `json.loads` reads it, without importing `json`.

`import json` (its decoder, scanner and encoder, and the six patterns they compile at import) is
a millisecond and a half of every `check` and `capture`, which read JSON only from cache entries
and a few small files. `loads` runs the C scanner that `json.loads` itself runs
(``_json.make_scanner``, set up with `json.JSONDecoder`'s defaults) between the same whitespace,
so it accepts, returns and refuses what `json.loads` does; a document it refuses is handed to
`json.loads`, whose own error (a `json.JSONDecodeError`) is raised. Bytes with a
byte-order mark or in UTF-16/32, text that starts with one, and interpreters without CPython's
``_json`` go to `json.loads`. Writing JSON (`json.dumps`) imports json where it happens.
"""

from __future__ import annotations

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["loads"]

_WHITESPACE = " \t\n\r"  # json.decoder.WHITESPACE
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Defaults:
    """What the C scanner reads of a `json.JSONDecoder()`: its default settings."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    try:
        from _json import make_scanner
    except ImportError:  # not CPython
        return None
    scan: Callable[[str, int], tuple[Any, int]] = make_scanner(_Defaults())  # type: ignore[arg-type]
    return scan


_SCAN = _scanner()


def loads(data: str | bytes) -> Any:
    """The value of the JSON document *data*, as `json.loads` returns it, and json's own error
    (a `ValueError`) for a document it refuses."""
    if _SCAN is None or not isinstance(data, (str, bytes)) or _unusual(data):
        import json

        return json.loads(data)
    text = data if isinstance(data, str) else data.decode("utf-8", "surrogatepass")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _SCAN(text, start)
    except StopIteration:
        end = -1
    if end < 0 or text[end:].strip(_WHITESPACE):
        import json  # for its own error, word for word

        return json.loads(data)
    return value


def _unusual(data: str | bytes) -> bool:
    """A byte-order mark, or bytes in UTF-16/32: json.loads's own reading of them."""
    if isinstance(data, str):
        return data.startswith("\ufeff")
    return data[:1] in (b"\xef", b"\xfe", b"\xff") or b"\x00" in data[:4]
