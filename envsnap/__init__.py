"""envsnap: capture, rebuild and check reproducible ML environments.

The public API (`capture`, `check`, `require`, `diff`, `rebuild`) lives in `envsnap.api` and is
loaded on first use, so that `import envsnap` stays cheap before a training job.
"""

from __future__ import annotations

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from typing import Any


__version__ = "0.1.0"
__all__ = ["__version__", "capture", "check", "diff", "rebuild", "require"]


def __getattr__(name: str) -> Any:
    if name in ("capture", "check", "diff", "rebuild", "require"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'envsnap' has no attribute {name!r}")
