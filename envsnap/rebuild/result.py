"""What `rebuild` returns: one record per kind of result, and their shared JSON envelope.

`ContextRendered` is a rendered build context (``--no-build``), `ImageBuilt` an image built from
one (and maybe pushed), `VenvBuilt` a virtualenv, `PrefixBuilt` a conda prefix. `RebuildResult`
is any of them; callers tell them apart by type. ``envsnap rebuild --json`` prints version 1 of
the envelope: every key of every kind, with ``kind`` naming which one and the others empty, so
that scripts written against one result record keep reading the same keys.
"""

from __future__ import annotations

from .._record import Record, fields, record

__all__ = ["ContextRendered", "ImageBuilt", "PrefixBuilt", "RebuildResult", "VenvBuilt"]

# Every key of the version 1 envelope, with the value a kind that lacks it shows.
_EMPTY: dict[str, object] = {
    "base_digest": "",
    "base_image": "",
    "base_pin": "",
    "base_reason": "",
    "base_ref": "",
    "context": None,
    "dockerfile": "",
    "files": (),
    "image_id": "",
    "image_record": "",
    "installed": (),
    "load_ms": 0.0,
    "pushed": "",
    "prefix": "",
    "pushed_digest": "",
    "render_ms": 0.0,
    "skipped": (),
    "tag": "",
    "venv": "",
}


def _envelope(kind: str, result: Record) -> dict[str, object]:
    """The version 1 envelope of *result*: its fields over the empty ones, tuples as lists."""
    data = {**_EMPTY, **{f.name: getattr(result, f.name) for f in fields(result)}}
    data |= {"kind": kind, "version": 1}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


@record
class ContextRendered(Record):
    """The build context rendered from a capture.

    `context` is the folder it was written to, or None when it was not kept (only the
    Dockerfile asked for, or a temporary context for a build); `files` what was written there.
    `base_image` is the base as chosen (a tag), `base_ref` what the FROM lines use (with
    ``@sha256:…`` when pinned from image.toml), `base_pin` why it is pinned or not.
    `installed` are the packages the image gets, `skipped` those the lock cannot install
    (``--allow-missing``). `load_ms` is the time to read the capture, `render_ms` the time to plan
    and write the context (Dockerfile, requirements, fetched or built files, the tool wheels).
    """

    base_image: str
    base_ref: str
    base_pin: str
    base_reason: str
    dockerfile: str
    context: str | None = None
    files: tuple[str, ...] = ()
    installed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    load_ms: float = 0.0
    render_ms: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Return the versioned JSON-ready envelope of this result (kind ``context``)."""
        return _envelope("context", self)


@record
class ImageBuilt(Record):
    """An image built from `rendered` through the image engine, recorded in `image_record`.

    `base_digest` is the registry digest the daemon resolved for the base, empty when it has
    none. `pushed` is the reference the image was pushed to (``--push``), `pushed_digest` the
    ``repository@sha256:…`` the registry answered.
    """

    rendered: ContextRendered
    image_id: str
    base_digest: str
    tag: str
    image_record: str
    pushed: str = ""
    pushed_digest: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return the versioned JSON-ready envelope of this result (kind ``image``): the
        context's keys beside the image's own."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rendered"}
        return {**self.rendered.to_dict(), **own, "kind": "image"}


@record
class VenvBuilt(Record):
    """A virtualenv at `venv` holding the `installed` packages; `skipped` those the lock
    cannot install (``--allow-missing``)."""

    venv: str
    installed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Return the versioned JSON-ready envelope of this result (kind ``venv``)."""
        return _envelope("venv", self)


@record
class PrefixBuilt(Record):
    """A conda prefix at `prefix` holding the locked conda packages and the `installed` pip
    packages on top (``rebuild --prefix``)."""

    prefix: str
    installed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Return the versioned JSON-ready envelope of this result (kind ``prefix``)."""
        return _envelope("prefix", self)


RebuildResult = ContextRendered | ImageBuilt | VenvBuilt | PrefixBuilt
