"""Push events and the pure parser of the Docker Engine's push JSON stream.

The daemon reports each layer's state (Preparing, Waiting, Pushing with byte counts, Pushed,
Layer already exists, Mounted from …) and ends with the manifest digest the registry answered,
in an ``aux`` chunk ``{"Tag", "Digest", "Size"}`` (and a status line ``TAG: digest: sha256:…
size: N``). `parse_push_stream` yields one `LayerStatus` per change of a layer's state (not per
progress tick) and ends with `Pushed`. Registry credentials never pass through here: the
Docker SDK sends them in a request header, and what the daemon says passes through the words door
(`envsnap._redact.text`) anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

from envsnap.errors import BuildError

from .._record import Record, record
from .._redact import text
from .._regex import lazy

__all__ = [
    "LayerStatus",
    "PushEvent",
    "PushFailed",
    "Pushed",
    "format_push_event",
    "parse_push_stream",
]

_DIGEST = lazy(r"^sha256:[0-9a-f]{64}$")
_STATUS_DIGEST = lazy(r"digest: (sha256:[0-9a-f]{64}) size: (\d+)")
_MOST = 500  # characters of a daemon's message shown


@record
class LayerStatus(Record):
    """Layer *layer* (a short id) is now in state *status* (``Pushed``, ``Layer already
    exists``…); *total* is its size in bytes when the daemon said it."""

    layer: str
    status: str
    total: int = 0


@record
class Pushed(Record):
    """The registry holds the image: ``repository@digest`` pulls exactly it."""

    repository: str
    tag: str
    digest: str
    size: int = 0

    @property
    def reference(self) -> str:
        """``repository@sha256:…``."""
        return f"{self.repository}@{self.digest}"


PushEvent = Union[LayerStatus, Pushed]


class PushFailed(BuildError):
    """The daemon or the registry refused the push (exit 1)."""


def parse_push_stream(
    chunks: Iterable[Mapping[str, Any]], repository: str, tag: str
) -> Iterator[PushEvent]:
    """Turn decoded push chunks into events, ending with `Pushed`.

    Raises `PushFailed` on an error chunk or when the stream ends without a digest.
    """
    states: dict[str, str] = {}
    totals: dict[str, int] = {}
    digest, size = "", 0
    for chunk in chunks:
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail")
            message = detail.get("message") if isinstance(detail, Mapping) else None
            error = str(message or chunk.get("error") or "unknown error")
            raise PushFailed(f"docker push {repository}:{tag} failed: {text(error, most=_MOST)}")
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and _DIGEST.match(str(aux.get("Digest", ""))):
            digest, size = str(aux["Digest"]), int(aux.get("Size") or 0)
            continue
        status = chunk.get("status")
        if not isinstance(status, str):
            continue
        m = _STATUS_DIGEST.search(status)
        if m and not digest:
            digest, size = m[1], int(m[2])
        layer = chunk.get("id")
        if not isinstance(layer, str) or m:
            continue
        progress = chunk.get("progressDetail")
        if isinstance(progress, Mapping) and isinstance(progress.get("total"), int):
            totals[layer] = progress["total"]
        if states.get(layer) != status:
            states[layer] = status
            yield LayerStatus(text(layer), text(status, most=_MOST), totals.get(layer, 0))
    if not digest:
        raise PushFailed(
            f"docker push {repository}:{tag} ended without the registry's digest "
            "(was it cancelled?)"
        )
    yield Pushed(repository, tag, digest, size)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def format_push_event(event: PushEvent) -> str | None:
    """The line to print for *event*, or None (the states in between are not shown)."""
    if isinstance(event, Pushed):
        return f"pushed {event.repository}:{event.tag} as {event.reference}"
    if event.status in ("Pushed", "Layer already exists") or event.status.startswith("Mounted"):
        size = f" ({_size(event.total)})" if event.total else ""
        return f"      layer {event.layer}: {event.status}{size}"
    return None
