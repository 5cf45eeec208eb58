"""A content-addressed cache of parsed lockfiles, so that `envsnap check` starts fast.

A pylock.toml that records every wheel of every version runs to hundreds of kilobytes, and
parsing and validating it with tomllib and `packaging.pylock` costs far more than the whole
rest of a check. The rules only need each package's name, version, source and wheel tags, so the
first check of a lock stores that slim `Environment` as JSON under the user cache dir, keyed by
the sha256 of the file's bytes (plus envsnap's version and schema version): an edited file is a
new key and is parsed and validated again; a corrupt cache entry is ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from pathlib import Path

from envsnap import __version__
from envsnap.errors import InputError
from envsnap.model import SCHEMA_VERSION, Environment, ModelError

__all__ = ["cache_dir", "load_environment", "slim"]


def cache_dir() -> Path:
    """``ENVSNAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/envsnap`` (as capture's caches)."""
    explicit = os.environ.get("ENVSNAP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "envsnap"


def slim(env: Environment) -> Environment:
    """*env* without the per-package file lists (index URLs and hashes) that no rule reads."""
    return dataclasses.replace(
        env, packages=tuple(dataclasses.replace(p, files=()) for p in env.packages)
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def load_environment(path: Path) -> Environment:
    """The slim `Environment` of the pylock.toml at *path*, from the cache or parsed."""
    data = _read(path)
    key = hashlib.sha256(f"{__version__}\0{SCHEMA_VERSION}\0".encode() + data).hexdigest()
    entry = cache_dir() / "check" / f"{key}.json"
    with contextlib.suppress(OSError, ValueError, ModelError):
        return Environment.from_dict(json.loads(entry.read_text(encoding="utf-8")))
    from envsnap._io import write_atomic  # tempfile & co.: only on a miss
    from envsnap.formats import pylock

    env = slim(pylock.load(path))
    with contextlib.suppress(OSError):  # a read-only cache is not an error
        write_atomic(entry, json.dumps(env.to_dict(), sort_keys=True) + "\n")
    return env
