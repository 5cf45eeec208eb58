"""What fixes a failed image build, read from its last lines of output.

A build that pip runs with an index fails the same few ways behind a proxy: the proxy's CA is
not trusted in the container, or there is no route to the index. A hermetic build (every file
in the context) can still lack a build requirement that a backend asks for only at build time.
Each gets the flag that fixes it, as the error's hint.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .._regex import lazy

if TYPE_CHECKING:
    from ..render.plan import Plan

__all__ = ["failure_hint"]

# What a failed step's output says when the build cannot reach an index, or does not trust it.
_CERT = lazy(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|SSLError", re.I)
_NETWORK = lazy(
    r"Temporary failure in name resolution|Network is unreachable|Failed to establish a new "
    r"connection|Could not resolve host|Connection refused",
    re.I,
)


def failure_hint(tail: tuple[str, ...], plan: Plan) -> str | None:
    """The flag that fixes a failed build, from what its last lines say (None: nothing known)."""
    text = "\n".join(tail)
    online = not plan.wheelhouse
    if _CERT.search(text):
        why = "the build does not trust the CA of this machine's proxy or index"
        if online:
            return (
                f"{why}: rebuild without --fetch-in-build (every file is then fetched here, "
                "where pip works), or pass --ca-cert FILE (e.g. /etc/ssl/certs/ca-certificates.crt)"
            )
        return f"{why}: pass --ca-cert FILE (e.g. /etc/ssl/certs/ca-certificates.crt)"
    if _NETWORK.search(text):
        if online:
            return (
                "the build cannot reach the index: rebuild without --fetch-in-build (every "
                "file is then fetched here)"
            )
        return "the build cannot reach the network it needs for this base image"
    if "No matching distribution found" in text and any(ly.no_index for ly in plan.layers):
        return (
            "pip in the build asked for a file the context does not hold: a build requirement "
            "the project's backend adds at build time (not in its pyproject.toml); build that "
            "package into a wheel and lock the wheel, or rebuild with --fetch-in-build"
        )
    return None
