"""Determinism-relevant environment variables, from a fixed allowlist.

A lockfile gets committed and shared, so nothing outside `ALLOWLIST` is ever returned: no token,
password or cloud key can leak through this probe, whatever the environment holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._envvars import ALLOWLIST

__all__ = ["ALLOWLIST", "probe", "withheld"]


def probe(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Return the allowlisted variables set in *environ*, sorted by name.

    Names are matched exactly (environment names are case-sensitive on POSIX); nothing else is
    ever returned. A value without the shape its variable takes (``XLA_FLAGS`` naming a signed
    ``gs://`` URL) is returned as `envsnap._redact.WITHHELD` (`withheld` lists those).
    """
    from .._redact import envvar

    return tuple(sorted((k, envvar(k, str(v))[0]) for k, v in environ.items() if k in ALLOWLIST))


def withheld(pairs: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The ``envvars.NAME`` fields of *pairs* whose value was withheld."""
    from .._redact import WITHHELD

    return tuple(f"envvars.{k}" for k, v in pairs if v == WITHHELD)
