"""A content-addressed cache of parsed capture files, so that `envsnap check` starts fast.

A pylock.toml that records every wheel of every version runs to hundreds of kilobytes, and
parsing and validating it with tomllib and `packaging.pylock` costs far more than the whole
rest of a check. The rules only need each package's name, version, source and wheel tags, so the
first check of a lock stores that slim `Environment` as JSON under the user cache dir, keyed by
the BLAKE2b digest of the file's bytes (plus envsnap's version and schema version): an edited
file is a new key and is parsed and validated again. hardware.toml is cached the same way, so
that a repeated check needs no TOML parser at all. The entries follow `envsnap._cache`'s rules.

Part of the in door (`envsnap.formats.capture.load(..., slim=True)`): the bytes it is given were
read there, bounded and from a regular file; this module never opens a capture file itself.
"""

from __future__ import annotations

from collections.abc import Callable

from envsnap import __version__, _cache
from envsnap._io import cache_home, cache_key
from envsnap.model import SCHEMA_VERSION, Environment, Hardware, ModelError, replace

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import TypeVar

    M = TypeVar("M", Environment, Hardware)

__all__ = ["load_environment", "load_hardware", "slim"]


def slim(env: Environment) -> Environment:
    """*env* without the per-package file lists (index URLs and hashes) that no rule reads."""
    return replace(env, packages=tuple(replace(p, files=()) for p in env.packages))


def _cached(data: bytes, folder: str, model: type[M], parse: Callable[[], M]) -> M:
    """*model* of the file *data*: from the cache entry of its bytes, or parsed and stored."""
    key = cache_key(f"{__version__}\0{SCHEMA_VERSION}\0".encode() + data)
    entry = _cache.entry(cache_home() / folder, key)
    stored = _cache.load(entry)
    if stored is not None:
        # an entry of the wrong types (another envsnap's, or hand-made) means parsing again
        try:
            return model.from_dict(stored)
        except (ValueError, TypeError, KeyError, RecursionError, ModelError):
            pass
    value = parse()
    _cache.store(entry, value.to_dict())
    return value


def load_environment(data: bytes, parse: Callable[[], Environment]) -> Environment:
    """The slim `Environment` of the pylock.toml holding *data*, from the cache or *parse*d."""
    return _cached(data, "check", Environment, lambda: slim(parse()))


def load_hardware(data: bytes, parse: Callable[[], Hardware]) -> Hardware:
    """The `Hardware` of the hardware.toml holding *data*, from the cache or *parse*d."""
    return _cached(data, "check-hardware", Hardware, parse)
