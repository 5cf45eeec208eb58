"""The user's pip configuration: which indexes and find-links folders pip installs from.

Reads the same files and ``PIP_*`` variables as pip, with pip's precedence: global files
(``$XDG_CONFIG_DIRS/pip/pip.conf``, ``/etc/pip.conf``), user files (``~/.pip/pip.conf``,
``~/.config/pip/pip.conf``; skipped when ``$PIP_CONFIG_FILE`` exists), the site file
(``$VIRTUAL_ENV/pip.conf``), ``$PIP_CONFIG_FILE``; later files override earlier ones, an
``[install]`` value overrides a ``[global]`` one, and ``PIP_*`` variables override every file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._record import Record, record

TYPE_CHECKING = False  # keeps `typing` and `ssl` off every capture; mypy reads this name
if TYPE_CHECKING:
    import ssl

__all__ = [
    "DEFAULT_INDEX",
    "PipConfig",
    "config_files",
    "load",
    "merge_sections",
    "ssl_context",
]

DEFAULT_INDEX = "https://pypi.org/simple"
_KEYS = ("index-url", "extra-index-url", "find-links", "cert", "no-index", "timeout")
_TRUE = ("1", "true", "yes", "on", "y", "t")


@record
class PipConfig(Record):
    """Where pip looks for distributions, in pip's order."""

    index_url: str = DEFAULT_INDEX
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    cert: str | None = None
    no_index: bool = False
    timeout: float = 15.0

    @property
    def indexes(self) -> tuple[str, ...]:
        """The simple-API index URLs, primary first (none with ``no-index``)."""
        if self.no_index:
            return ()
        return (self.index_url, *self.extra_index_urls)


def config_files(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Return pip's configuration file paths, lowest precedence first (existing or not)."""
    env = os.environ if environ is None else environ
    env_file = env.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return ()
    home = Path(env.get("HOME") or Path.home())
    xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    if not (env_file and Path(env_file).exists()):
        xdg_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        files += [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    files.append(Path(env.get("VIRTUAL_ENV") or sys.prefix) / "pip.conf")
    if env_file:
        files.append(Path(env_file))
    return tuple(str(f) for f in files)


def load(environ: Mapping[str, str] | None = None) -> PipConfig:
    """Read pip's configuration files and ``PIP_*`` variables into a `PipConfig`.

    An unreadable or malformed file is skipped, as pip would refuse it but capture must not.
    """
    env = os.environ if environ is None else environ
    found: list[Mapping[str, Mapping[str, str]]] = []
    for path in config_files(env):
        # Not cached, although configparser is slow to import: a pip.conf holds index credentials,
        # and a cache must hold nothing that the outputs may not.
        try:
            found.append(_parse_file(Path(path)))
        except OSError:
            continue
    return merge_sections(found, env)


def ssl_context(cert: str | None) -> ssl.SSLContext:
    """The TLS context pip verifies with: its ``cert`` setting (a bundle file, or a folder of
    hashed certificates) instead of the system's certificates, or the system's when unset.

    Raises `OSError` or `ssl.SSLError` for a *cert* that cannot be loaded.
    """
    import ssl

    if cert and Path(cert).is_dir():
        return ssl.create_default_context(capath=cert)
    return ssl.create_default_context(cafile=cert or None)


def _parse_file(path: Path) -> dict[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return {}
    return _read_sections(text)


def _read_sections(text: str) -> dict[str, dict[str, str]]:
    plain = _plain_sections(text)
    if plain is not None:
        return plain
    import configparser  # only for a pip.conf `_plain_sections` leaves to it

    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    out: dict[str, dict[str, str]] = {}
    for section in ("global", "install"):
        if parser.has_section(section):
            out[section] = {k.replace("_", "-").lstrip("-"): v for k, v in parser.items(section)}
    return out


def _plain_sections(text: str) -> dict[str, dict[str, str]] | None:
    """The [global] and [install] values of a plain pip.conf, read as `configparser`'s
    RawConfigParser reads it, without importing it (with its eight patterns, a large share of a
    capture's start): ASCII lines that are blank, comments, ``[name]`` headers (each once,
    no DEFAULT) or unindented ``key = value`` / ``key: value`` options (each once per section).
    None for anything else: an indented line (a continuation), a line of no such form, a
    duplicate; `configparser` then reads it, errors and all."""
    if not text.isascii():
        return None
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if raw[0].isspace():
            return None
        if line[0] == "[":
            name = line[1:-1]
            if line[-1] != "]" or not name or name != name.strip() or "[" in name or "]" in name:
                return None
            if name in sections or name == "DEFAULT":
                return None
            current = sections[name] = {}
            continue
        cut = min((at for at in (line.find("="), line.find(":")) if at != -1), default=-1)
        key = line[:cut].rstrip().lower()
        if cut <= 0 or current is None or not key or key in current:
            return None
        current[key] = line[cut + 1 :].strip()
    return {
        name: {k.replace("_", "-").lstrip("-"): v for k, v in sections[name].items()}
        for name in ("global", "install")
        if name in sections
    }


def merge_sections(
    files: Sequence[Mapping[str, Mapping[str, str]]], environ: Mapping[str, str]
) -> PipConfig:
    """Pure: combine the [global]/[install] values of pip.conf files (lowest precedence first)
    and *environ* into a config."""
    merged: dict[str, dict[str, str]] = {"global": {}, "install": {}}
    for sections in files:
        for section, values in sections.items():
            merged[section].update(values)
    final = {**merged["global"], **merged["install"]}
    for key in _KEYS:
        var = "PIP_" + key.upper().replace("-", "_")
        if environ.get(var):
            final[key] = environ[var]
    if "timeout" not in final and environ.get("PIP_DEFAULT_TIMEOUT"):
        final["timeout"] = environ["PIP_DEFAULT_TIMEOUT"]
    final.setdefault("timeout", final.get("default-timeout", "15"))
    try:
        timeout = float(final["timeout"])
    except ValueError:
        timeout = 15.0
    return PipConfig(
        index_url=(final.get("index-url") or DEFAULT_INDEX).strip(),
        extra_index_urls=tuple(final.get("extra-index-url", "").split()),
        find_links=tuple(final.get("find-links", "").split()),
        cert=final.get("cert", "").strip() or None,
        no_index=final.get("no-index", "").strip().lower() in _TRUE,
        timeout=min(timeout, 30.0),
    )
