"""The in door's primitives: the registry of capture file kinds, the bounded read of one file,
and bounded TOML, JSON and YAML parsing.

Everything envsnap reads from a capture folder, a node report or a rank's store message is
untrusted. `read` reads a file of a registered kind: a regular file only (a symlink, FIFO,
device or folder is refused before a byte is read), at most the kind's size, UTF-8, parsed by
the kind's pure ``parse(text, source)``, which validates every type. Nesting deeper than
`MAX_DEPTH` (YAML) or than the parser can go (TOML, JSON) is refused, and YAML aliases are
refused outright (a few hundred bytes of them expand to gigabytes). Every problem is one
`InputError` naming the file (and the field, from the parser).

Adding a file kind is one `Kind` in `KINDS`; `envsnap.formats.capture.load` then reads it into
its `Capture`, and the property test in tests/security attacks it with every verb.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from envsnap._io import read_bytes_bounded
from envsnap._jsonfast import loads
from envsnap._record import Record, record
from envsnap.errors import InputError

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "KINDS",
    "MAX_DEPTH",
    "Kind",
    "file_bytes",
    "file_text",
    "json_value",
    "kind",
    "read",
    "schema_version",
    "toml_table",
    "yaml_value",
]

MAX_DEPTH = 64  # YAML nesting; envsnap's own files go four levels deep
_KIB = 1 << 10
_MIB = 1 << 20


@record
class Kind(Record):
    """One kind of file in a capture folder.

    `name` is its file name, `part` the `Capture` attribute (or `Capture.part` key) it is read
    into, `limit` the largest file accepted, in bytes. `parser` is ``"module:function"``, a pure
    ``function(text, source) -> value`` that validates every field and raises `InputError`
    naming *source* (imported only when such a file is read, so a check loads no parser it
    does not need); empty for a file kept as its text. `syntax` (``toml``, ``yaml``, ``text``)
    says which hostile variants the property test draws for it. `in_set`: every capture writes
    it or removes it, as one set (`envsnap._captureset.write_set`); `in_image`: rebuild copies
    it into the image, where the image checks itself against it.
    """

    name: str
    part: str
    limit: int
    parser: str
    syntax: str
    required: bool = False
    in_set: bool = False
    in_image: bool = False


# The files of a capture folder, in the order `load` reads them: the one list of their names.
# numerics.toml is not in the set: a capture without --numerics leaves an earlier one alone;
# image.toml is written by rebuild.
_IN_BOTH = {"in_set": True, "in_image": True}
KINDS = (
    Kind(
        "pylock.toml",
        "lock",
        64 * _MIB,
        "envsnap.formats.pylock:parse",
        "toml",
        required=True,
        **_IN_BOTH,
    ),
    Kind("requirements.txt", "requirements", 64 * _MIB, "", "text", **_IN_BOTH),
    Kind(
        "hardware.toml", "hardware", 1 * _MIB, "envsnap.formats.hardware:parse", "toml", **_IN_BOTH
    ),
    Kind(
        "conda-lock.yml", "conda", 16 * _MIB, "envsnap.formats.condalock:parse", "yaml", **_IN_BOTH
    ),
    Kind(
        "project.toml", "project", 64 * _KIB, "envsnap.formats.project:parse", "toml", in_set=True
    ),
    Kind("image.toml", "image", 64 * _KIB, "envsnap.formats.image:parse", "toml"),
    Kind("numerics.toml", "numerics", 1 * _MIB, "envsnap.formats.numerics:parse", "toml"),
    # written by `envsnap repro` (never by capture): a verdict with each output's digests
    Kind("repro.toml", "repro", 4 * _MIB, "envsnap.formats.repro:parse", "toml"),
)


def kind(name: str) -> Kind:
    """The registered kind of the file called *name* (``hardware.toml``) or part (``lock``)."""
    for each in KINDS:
        if name in (each.name, each.part):
            return each
    raise KeyError(name)


def read(path: str | os.PathLike[str], name: str) -> Any:
    """The parsed value of the file at *path*, read as the registered kind *name*."""
    entry = kind(name)
    return parse(entry, file_text(path, what=entry.name, limit=entry.limit), str(path))


def parse(entry: Kind, text: str, source: str) -> Any:
    """*text* parsed by *entry*'s parser (the text itself for a kind without one)."""
    if not entry.parser:
        return text
    import importlib

    module, _, function = entry.parser.partition(":")
    parser = getattr(importlib.import_module(module), function)
    try:
        return parser(text, source)
    except RecursionError:  # a validator walking what the parser let through
        raise InputError(f"{source}: nested too deeply") from None


def file_bytes(path: str | os.PathLike[str], *, what: str, limit: int) -> bytes:
    """The bytes of the regular file at *path*, at most *limit*; `InputError` otherwise."""
    return read_bytes_bounded(path, what=what, limit=limit)


def file_text(path: str | os.PathLike[str], *, what: str, limit: int) -> str:
    """`file_bytes` decoded as UTF-8."""
    return text_of(file_bytes(path, what=what, limit=limit), str(path))


def text_of(data: bytes, source: str) -> str:
    """*data* decoded as UTF-8; `InputError` naming *source* otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text ({exc.reason})") from None


def toml_table(text: str, source: str, *, hint: str | None = None) -> dict[str, Any]:
    """The TOML document *text*; one `InputError` naming *source* when it is not valid or is
    nested deeper than the parser goes."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML ({exc})", hint=hint) from None
    except RecursionError:
        raise InputError(f"{source}: not valid TOML (nested too deeply)", hint=hint) from None


def schema_version(
    table: Mapping[str, Any], source: str, newest: int, *, field: str = "schema-version"
) -> int:
    """The format version of the file *source*: *field*'s last key in *table*, a positive
    integer no newer than *newest*; one `InputError` naming the file and field otherwise.

    Every TOML file envsnap writes says ``schema-version`` (readers of a file that once said
    another key map it to this one first)."""
    version = table.get(field.rpartition(".")[2])
    if version is None:
        raise InputError(f"{source}: {field}: missing (not written by envsnap?)")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{source}: {field}: expected a positive integer, got {version!r:.40}")
    if version > newest:
        raise InputError(
            f"{source}: {field} {version} is newer than this envsnap reads ({newest}); "
            "upgrade envsnap"
        )
    return version


def json_value(text: str | bytes, source: str) -> Any:
    """The JSON value *text*; one `InputError` naming *source* when it is not valid JSON or is
    nested deeper than the decoder goes."""
    try:
        return loads(text)
    except RecursionError:
        raise InputError(f"{source}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise InputError(f"{source}: not valid JSON ({exc})") from None


def yaml_value(text: str, source: str) -> Any:
    """The YAML document *text* (PyYAML's safe loader, C where built); aliases are refused
    and nesting is bounded by `MAX_DEPTH`, both before anything is built."""
    try:
        import yaml  # optional extra, only for files other tools wrote
    except ImportError:
        raise InputError(
            f"{source}: not written by envsnap; reading it needs PyYAML", hint="pip install pyyaml"
        ) from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                raise InputError(f"{source}: YAML aliases are not accepted")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(f"{source}: invalid YAML (nested deeper than {MAX_DEPTH})")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(text, Loader=loader)  # noqa: S506 - the safe loader, aliases refused
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise InputError(f"{source}: invalid YAML (nested too deeply)") from None
