"""envsnap's JSON caches in the user cache folder, all kept by one set of rules.

Five caches use it: parsed capture files (`envsnap.formats._parsecache`), facts derived from one
file (`envsnap.probes._filecache`), ``--python`` probe answers (`envsnap.probes._probecache`),
the parsed knowledge files (`envsnap.knowledge`) and index answers (`envsnap.index.lookup`,
which `rebuild` also seeds into images). The rules:

- an entry is ``FOLDER/KEY.json`` (`entry`), where KEY is the `envsnap._io.cache_key` of
  everything its value depends on; a cache of thousands of entries fans out into ``KEY[:2]/``;
- it is written through the out door (`envsnap._io.write_atomic` with ``private``): folders
  0700, files 0600, never half-written; a cache that cannot be written is not an error;
- it holds its value's JSON text and that text's digest: an entry that cannot be read, is not
  of this shape, is not JSON or is nested too deeply, or whose digest does not match (damaged,
  even into another well-formed value) is a miss, and the caller computes the value again and
  rewrites the entry.
"""

from __future__ import annotations

import os

from ._io import cache_key, write_atomic
from ._jsonfast import loads
from .errors import InputError

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = ["entry", "entry_text", "load", "store"]

# An entry's text: {"check": "<64 hex>", "value": <the value's JSON>}, then a newline.
_HEAD = b'{"check": "'
_MID = b'", "value": '
_TAIL = b"}\n"
_BODY = len(_HEAD) + 64 + len(_MID)


def entry(folder: Path, key: str, *, fan_out: bool = False) -> Path:
    """The path of the entry *key* in the cache *folder* (``KEY[:2]/KEY.json`` with *fan_out*)."""
    return folder / key[:2] / f"{key}.json" if fan_out else folder / f"{key}.json"


def entry_text(value: Any) -> str:
    """The text of an entry holding *value* (JSON, key order kept as given)."""
    import json  # only to write an entry: a warm run reads them all with _jsonfast

    text = json.dumps(value)
    return f"{_HEAD.decode()}{cache_key(text.encode())}{_MID.decode()}{text}{_TAIL.decode()}"


def load(path: Path) -> Any:
    """The value held by the entry at *path*, or None when there is none or it is damaged."""
    data = _read(path)
    if data is None or len(data) < _BODY + len(_TAIL) or not data.endswith(_TAIL):
        return None
    if not data.startswith(_HEAD) or data[_BODY - len(_MID) : _BODY] != _MID:
        return None
    body = data[_BODY : -len(_TAIL)]
    if cache_key(body).encode() != data[len(_HEAD) : _BODY - len(_MID)]:
        return None
    try:
        return loads(body)
    except (ValueError, RecursionError):
        return None


def store(path: Path, value: Any) -> str | None:
    """Write the entry at *path* holding *value*; None when written, else why not. A cache that
    cannot be written (read-only, full, a link where a folder should be) is not an error: the
    value is computed again next time."""
    try:
        write_atomic(path, entry_text(value), private=True)
    except OSError as exc:
        return exc.strerror or str(exc)
    except InputError as exc:  # the out door refused a link or a non-file in the way
        return exc.message
    return None


def _read(path: Path) -> bytes | None:
    # Raw os calls: a warm capture reads a thousand index entries, and a file object costs more
    # than the read itself.
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return b"".join(chunks)
