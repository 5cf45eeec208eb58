"""PEP 751's direct-source tables, declared once: the keys of ``vcs``, ``archive`` and
``directory``, their
TOML types, whether the PEP requires them, and the `Package` attribute each one carries.

The lock writer (`_pylockfast.package_table`), the cross-check against `packaging.pylock`
(`pylock._to_pylock`), the reader (`pylock._from_pylock`) and the fast validator
(`_pylockread._direct_ok`) all take the keys from here, so a key is added in one place.
"""

from __future__ import annotations

from .._record import Record, record

TYPE_CHECKING = False  # keeps `typing` off the check path; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..model import Package

__all__ = ["ARCHIVE", "DIRECTORY", "VCS", "Key", "from_table", "table_ok", "values"]


@record
class Key(Record):
    """One key of a source table."""

    name: str  # the TOML key
    kind: type  # its TOML type
    attr: str = ""  # the `Package` attribute it carries; "" when the writer derives it
    required: bool = False

    @property
    def keyword(self) -> str:
        """The `packaging.pylock` dataclass field of this key."""
        return self.name.replace("-", "_")


VCS = (
    Key("type", str, "vcs", required=True),
    Key("url", str, "url"),
    Key("path", str),
    Key("requested-revision", str, "requested_revision"),
    Key("commit-id", str, "commit_id", required=True),
    Key("subdirectory", str, "subdirectory"),
)
ARCHIVE = (
    Key("url", str),
    Key("path", str),
    Key("size", int),
    Key("upload-time", object),  # a TOML datetime; its type is checked with the file keys
    Key("hashes", dict, required=True),
    Key("subdirectory", str, "subdirectory"),
)
DIRECTORY = (
    Key("path", str, required=True),
    Key("editable", bool),
    Key("subdirectory", str, "subdirectory"),
)


def values(
    package: Package, table: tuple[Key, ...], derived: Mapping[str, Any] | None = None
) -> list[tuple[Key, Any]]:
    """The keys of *table* that *package* fills, in table order, with their values (None for an
    absent optional one; "" for an absent required one). *derived* gives the keys that come from
    no single attribute (a directory's path, its editable flag)."""
    derived = derived or {}
    out = []
    for key in table:
        if key.name in derived:
            value = derived[key.name]
        elif key.attr:
            value = getattr(package, key.attr)
        else:
            continue
        out.append((key, "" if value is None and key.required else value))
    return out


def from_table(raw: Mapping[str, Any], table: tuple[Key, ...]) -> dict[str, Any]:
    """The `Package.from_dict` entries that a validated source table *raw* carries."""
    return {k.attr.replace("_", "-"): raw[k.name] for k in table if k.attr and k.name in raw}


def table_ok(raw: Mapping[str, Any], table: tuple[Key, ...]) -> bool:
    """*raw* holds every required key of *table*, and each key it holds has the TOML type."""
    for key in table:
        value = raw.get(key.name)
        if value is None:
            if key.required:
                return False
        elif not isinstance(value, key.kind) or (key.kind is not bool and isinstance(value, bool)):
            return False
    return True
