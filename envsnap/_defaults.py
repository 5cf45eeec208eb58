"""Names every layer shares: the distribution's name and the default capture folder.

No imports: the commands that start every job read these before anything else loads. The
wording of a missing capture lives with the reader that says it (`envsnap.formats.capture`).
"""

from __future__ import annotations

__all__ = ["DEFAULT_DIR", "DISTRIBUTION", "importable_name"]

# The distribution (pyproject `name`, the tool wheel in images). "envsnap" on the public index
# is an unrelated project: nothing may install envsnap by that name from an index. The import
# package and the command stay `envsnap`.
DISTRIBUTION = "envsnap-ml"

# Where capture writes and check/rebuild read by default. Not a Python identifier (the dash),
# so a capture in the current directory can never be imported as a namespace package that
# shadows `import envsnap` (or any other package) beside an editable install.
DEFAULT_DIR = "envsnap-capture"


def importable_name(folder: str) -> bool:
    """True when a folder of this name in the current directory or on sys.path could be
    imported as a (namespace) package: its last component is a Python identifier."""
    name = folder.rstrip("/").rsplit("/", 1)[-1]
    return name.isidentifier()
