"""Compare what two installers installed: the files, each distribution's RECORD and INSTALLER.

"The same files" means the same paths under the prefix, RECORDs with the same rows (paths,
hashes, sizes: script launchers and compiled bytecode included) and the same INSTALLER. Used by
the bench (pip against uv inside the image) and by tests/rebuild/test_installer_records.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Installed", "differences", "read_prefix"]


@dataclass(frozen=True)
class Installed:
    """What one install left under its prefix."""

    files: frozenset[str]  # paths relative to the prefix
    records: dict[str, frozenset[tuple[str, ...]]]  # dist-info folder -> RECORD rows
    installers: dict[str, str]  # dist-info folder -> INSTALLER's text


def read_prefix(prefix: Path, files: Iterable[str] | None = None) -> Installed:
    """Read the install under *prefix*; *files* lists its paths when the tree itself is
    elsewhere (a container's list) and only the dist-info folders were copied out."""
    if files is None:
        files = (str(p.relative_to(prefix)) for p in prefix.rglob("*") if not p.is_dir())
    records: dict[str, frozenset[tuple[str, ...]]] = {}
    installers: dict[str, str] = {}
    for info in sorted(prefix.glob("lib/python3*/site-packages/*.dist-info")):
        record = info / "RECORD"
        if record.is_file():
            rows = csv.reader(io.StringIO(record.read_text(encoding="utf-8")))
            records[info.name] = frozenset(tuple(row) for row in rows if row)
        installer = info / "INSTALLER"
        installers[info.name] = installer.read_text().strip() if installer.is_file() else ""
    return Installed(frozenset(f.removeprefix("./") for f in files), records, installers)


def _some(items: Iterable[str], most: int = 3) -> str:
    items = sorted(items)
    more = f" (+{len(items) - most} more)" if len(items) > most else ""
    return ", ".join(items[:most]) + more


def _kinds(rows: Iterable[tuple[str, ...]]) -> str:
    """How many of *rows* are compiled bytecode, scripts, other files."""
    paths = [r[0] for r in rows]
    pyc = sum(p.endswith(".pyc") for p in paths)
    scripts = sum("/bin/" in p for p in paths)
    return f"{pyc} .pyc, {scripts} scripts, {len(paths) - pyc - scripts} other"


def differences(a: Installed, b: Installed, names: tuple[str, str] = ("a", "b")) -> list[str]:
    """One line per way *a* and *b* differ (empty when they installed the same files)."""
    na, nb = names
    out = []
    only_a, only_b = a.files - b.files, b.files - a.files
    if only_a:
        out.append(f"{len(only_a)} files only from {na}: {_some(only_a)}")
    if only_b:
        out.append(f"{len(only_b)} files only from {nb}: {_some(only_b)}")
    if a.records.keys() != b.records.keys():
        out.append(f"dist-info folders differ: {_some(a.records.keys() ^ b.records.keys())}")
    rows_a: set[tuple[str, ...]] = set()
    rows_b: set[tuple[str, ...]] = set()
    dists = []
    for dist in sorted(a.records.keys() & b.records.keys()):
        ra, rb = a.records[dist], b.records[dist]
        if ra != rb:
            dists.append(dist)
            rows_a |= ra - rb
            rows_b |= rb - ra
    if dists:
        out.append(
            f"RECORD differs in {len(dists)} of {len(a.records)} dists ({_some(dists)}): "
            f"rows only from {na}: {_kinds(rows_a)}; only from {nb}: {_kinds(rows_b)}"
        )
    said = {f"{a.installers.get(d, '')!r} vs {b.installers.get(d, '')!r}" for d in a.installers}
    if any(a.installers.get(d) != b.installers.get(d) for d in a.installers):
        out.append(f"INSTALLER ({na} vs {nb}): {_some(said)}")
    return out
