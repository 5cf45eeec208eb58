"""sha256 of short strings (cache keys) without importing hashlib.

``import hashlib`` loads OpenSSL (~5 ms of a ~100 ms capture); CPython's own ``_sha256``
(``_sha2`` since 3.12) gives the same digest for the few short keys a capture hashes. Files
are still hashed with hashlib (OpenSSL is faster on big wheels).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # `typing` costs ~4 ms of each start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any

__all__ = ["text_sha256"]

_SHA256: Any = None


def text_sha256(text: str) -> str:
    """The hex sha256 of *text* encoded as UTF-8."""
    global _SHA256  # noqa: PLW0603 (one lazy look-up per process)
    if _SHA256 is None:
        for name in ("_sha2", "_sha256", "hashlib"):
            try:
                _SHA256 = importlib.import_module(name).sha256
                break
            except (ImportError, AttributeError):
                continue
    return str(_SHA256(text.encode()).hexdigest())
