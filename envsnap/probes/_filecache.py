"""Facts derived from one file, cached under the user cache dir by (real path, size, mtime).

Scanning a 1 GB ``libtorch_cuda.so`` for its arch list, running ``nvcc --version`` or parsing
numpy's ``__config__.py`` (with `ast`, itself slow to import) gives the same answer until the file
changes; a re-install gives the file a new mtime (and usually size), which makes a new key.
The entries follow `envsnap._cache`'s rules.
"""

from __future__ import annotations

from envsnap import _cache
from envsnap._io import cache_home, cache_key

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

__all__ = ["cached"]


def cached(
    kind: str, path: Path, compute: Callable[[Path], Any], valid: Callable[[Any], bool]
) -> Any:
    """``compute(path)``, kept as JSON in ``<cache>/<kind>/``; a stored value must pass *valid*.

    Raises `OSError` when *path* cannot be stat'ed; a cache that cannot be read or written
    only means computing again.
    """
    st = path.stat()
    ident = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    entry = _cache.entry(cache_home() / kind, cache_key(ident.encode()))
    stored = _cache.load(entry)
    if stored is not None and valid(stored):
        return stored
    value = compute(path)
    _cache.store(entry, value)
    return value
