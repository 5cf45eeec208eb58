"""Link locked conda package files into a prefix with py-rattler: no solver, no download.

The host's ``rebuild --prefix`` calls `link`; an image's conda stage runs this very file as a
script (``python condalink.py MANIFEST PREFIX``), so it imports nothing of envsnap's: the
standard library and py-rattler only. The manifest (JSON, written by
`envsnap.rebuild.condafiles`) lists each locked file: its name in the manifest's folder, the
package it is, its locked URL and channel and its sha256. Each file's sha256 is checked before
anything is linked; a mismatch ends the run with one line naming the package (exit 3). The
records handed to rattler's installer name the local files; once linked, each
``conda-meta/*.json`` is given back the locked URL and channel, as if conda had downloaded
them, so that a capture of the prefix reads the same lock. Link scripts are never run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST", "Mismatch", "bad_label", "link", "main", "verify"]

MANIFEST = "conda-files.json"
_CHUNK = 1 << 20


class Mismatch(Exception):
    """A conda file whose sha256 is not the locked one, or a lock entry no conda package has."""


# What a conda package's name, version and build string are made of (conda's MatchSpec
# grammar): no separator, no leading dot. They name the conda-meta record written below.
_LABEL = r"[A-Za-z0-9_][A-Za-z0-9_.+!-]*"  # compiled on first use (re's cache)


def bad_label(name: str, version: str, build: str) -> str | None:
    """Which of *name*, *version*, *build* (as a lock gives them) no conda package could have,
    or None when all three could be."""
    for field, value in (("name", name), ("version", version), ("build", build)):
        if not re.fullmatch(_LABEL, value):
            return field
    return None


def _digests(path: Path) -> tuple[str, str]:
    """The (sha256, md5) of *path*: conda records both."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def _manifest(folder: Path) -> list[dict[str, str]]:
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    entries: list[dict[str, str]] = data["packages"]
    return entries


def verify(folder: Path) -> list[dict[str, str]]:
    """Check every file of *folder*'s manifest against its sha256; `Mismatch` names the first
    package whose file differs. Returns the manifest's entries, each with its file's md5."""
    entries = _manifest(folder)
    for entry in entries:
        field = bad_label(entry["name"], entry["version"], entry["build"])
        if field is not None:
            raise Mismatch(f"conda package {entry['name']!r}: not a conda package {field}")
        got, entry["md5"] = _digests(folder / entry["file"])
        if got != entry["sha256"]:
            raise Mismatch(
                f"conda package {entry['name']} {entry['version']} {entry['build']}: sha256 "
                f"mismatch (lock {entry['sha256'][:12]}\u2026, file {got[:12]}\u2026)"
            )
    return entries


def _records(folder: Path, entries: list[dict[str, str]]) -> list[Any]:
    import asyncio

    from rattler import RepoDataRecord

    async def read() -> list[Any]:
        return [await RepoDataRecord.from_package_archive(folder / e["file"]) for e in entries]

    records = asyncio.run(read())
    for record, entry in zip(records, entries):
        record.url = (folder / entry["file"]).resolve().as_uri()
        record.channel = entry["channel"]
    return records


def _restore_urls(prefix: Path, entries: list[dict[str, str]]) -> None:
    """Give each linked package's conda-meta record its locked URL and channel."""
    for entry in entries:
        stem = f"{entry['name']}-{entry['version']}-{entry['build']}"
        path = prefix / "conda-meta" / f"{stem}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data["url"] = entry["url"]
        data["channel"] = entry["channel"]
        data["md5"] = entry["md5"]
        data.pop("extracted_package_dir", None)  # a temporary folder, gone after the link
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)


def link(folder: Path, prefix: Path) -> int:
    """Verify the files of *folder*'s manifest, link them into *prefix*; return their count."""
    import asyncio

    from rattler import install

    entries = verify(folder)
    records = _records(folder, entries)
    with tempfile.TemporaryDirectory(prefix="envsnap-conda-cache-") as cache:
        asyncio.run(
            install(
                records,
                target_prefix=prefix,
                cache_dir=Path(cache),
                execute_link_scripts=False,
                show_progress=False,
            )
        )
    _restore_urls(prefix, entries)
    return len(entries)


def main(argv: list[str]) -> int:
    """``python condalink.py FOLDER PREFIX``: what an image's conda stage runs."""
    if len(argv) != 2:
        print("usage: condalink.py FOLDER PREFIX", file=sys.stderr)
        return 2
    try:
        count = link(Path(argv[0]), Path(argv[1]))
    except Mismatch as exc:
        print(f"envsnap: error: {exc}", file=sys.stderr)
        return 3
    print(f"linked {count} conda packages into {argv[1]}")
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main(sys.argv[1:]))
