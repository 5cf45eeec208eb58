"""Facts derived from one file, cached under the user cache dir by (real path, size, mtime).

Scanning a 1 GB ``libtorch_cuda.so`` for its arch list, running ``nvcc --version`` or parsing
numpy's ``__config__.py`` (with `ast`, itself slow to import) gives the same answer until the file
changes; a re-install gives the file a new mtime (and usually size), which makes a new key.
"""

from __future__ import annotations

import contextlib
import json

from envsnap._io import cache_home, cache_key, write_atomic

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

__all__ = ["cached", "entry_text"]


def cached(
    kind: str, path: Path, compute: Callable[[Path], Any], valid: Callable[[Any], bool]
) -> Any:
    """``compute(path)``, kept as JSON in ``<cache>/<kind>/``; a stored value must pass *valid*.

    Raises `OSError` when *path* cannot be stat'ed; a cache that cannot be read or written
    only means computing again.
    """
    st = path.stat()
    ident = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    entry = cache_home() / kind / f"{cache_key(ident.encode())[:32]}.json"
    # An entry holds its value with a digest of it: a damaged entry (even one of the right
    # shape, like "[]") is computed again and rewritten, never believed.
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError, RecursionError):
        stored = json.loads(entry.read_text(encoding="utf-8"))
        data = stored["value"]
        if stored["check"] == _check(data) and valid(data):
            return data
    value = compute(path)
    with contextlib.suppress(OSError):  # a read-only cache is not an error
        write_atomic(entry, entry_text(value), private=True)
    return value


def entry_text(value: Any) -> str:
    """The text of a cache entry holding *value* (JSON: the value and a digest of it)."""
    return json.dumps({"check": _check(value), "value": value}) + "\n"


def _check(value: Any) -> str:
    return cache_key(json.dumps(value, sort_keys=True).encode())
