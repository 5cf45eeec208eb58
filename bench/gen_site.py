"""Generate N real-format installed distributions (dist-info folders) into a site-packages folder.

Each distribution has a small importable module and the files pip writes when it installs a
wheel: METADATA, WHEEL, INSTALLER, RECORD (with sha256 and size of every file), top_level.txt,
REQUESTED on about a third of them, and direct_url.json on some (archive with hash, VCS with
commit id, editable local directory), so that capture reads every source kind it meets in the
wild. Output is deterministic: the same N gives the same tree.

Usage: python bench/gen_site.py SITE_PACKAGES_DIR N
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

__all__ = ["dist_name", "generate"]

PREFIX = "benchgen-pkg"


def dist_name(index: int) -> str:
    """Return the project name of generated distribution *index*."""
    return f"{PREFIX}-{index:04d}"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _version(index: int) -> str:
    return f"{index % 7}.{index % 13}.{index % 5}"


def _metadata(name: str, version: str, index: int) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: Generated distribution {index} for the envsnap benchmark",
        "License: MIT",
        "Requires-Python: >=3.8",
    ]
    if index > 0:
        lines.append(f"Requires-Dist: {dist_name(index - 1)}")
    if index % 4 == 0:
        lines.append('Requires-Dist: typing-extensions>=4; python_version < "3.10"')
    return "\n".join(lines) + "\n\n" + f"Long description of {name}.\n" * 5


def _direct_url(index: int, name: str, version: str) -> dict[str, object] | None:
    kind = index % 10
    if kind == 1:
        archive = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        sha = hashlib.sha256(archive.encode()).hexdigest()
        return {
            "url": f"https://files.example.invalid/{archive}",
            "archive_info": {"hash": f"sha256={sha}", "hashes": {"sha256": sha}},
        }
    if kind == 2:
        commit = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()
        return {
            "url": f"https://git.example.invalid/{name}.git",
            "vcs_info": {"vcs": "git", "commit_id": commit, "requested_revision": "main"},
        }
    if kind == 3:
        return {"url": f"file:///src/{name}", "dir_info": {"editable": True}}
    return None


def _files(name: str, version: str, index: int) -> dict[str, bytes]:
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files: dict[str, bytes] = {
        f"{module}/__init__.py": f'"""{name}."""\n__version__ = "{version}"\n'.encode(),
        f"{info}/METADATA": _metadata(name, version, index).encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: bdist_wheel (0.43.0)\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/INSTALLER": b"pip\n",
        f"{info}/top_level.txt": f"{module}\n".encode(),
    }
    if index % 3 == 0:
        files[f"{info}/REQUESTED"] = b""
    direct = _direct_url(index, name, version)
    if direct is not None:
        files[f"{info}/direct_url.json"] = json.dumps(direct, sort_keys=True).encode()
    return files


def _write_one(site: Path, index: int) -> None:
    name = dist_name(index)
    version = _version(index)
    files = _files(name, version, index)
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in sorted(files.items())]
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    for rel, data in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def generate(site: Path, count: int) -> list[str]:
    """Write *count* generated distributions into *site*; return their project names."""
    site.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        _write_one(site, index)
    return [dist_name(i) for i in range(count)]


def main(argv: list[str]) -> int:
    """Command-line entry: ``gen_site.py SITE_DIR N``."""
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python bench/gen_site.py SITE_PACKAGES_DIR N", file=sys.stderr)
        return 2
    names = generate(Path(argv[0]), int(argv[1]))
    print(f"wrote {len(names)} distributions into {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
