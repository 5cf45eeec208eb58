"""Build requirements of the projects built in the container, fetched here so it needs no index.

A project (a source folder, a VCS commit, a locked sdist) says what its build needs in
``[build-system] requires`` of its pyproject.toml (PEP 518); without one, pip uses setuptools
and wheel. That table is *read* here (the file is opened, never run: an sdist is not even
unpacked) and the wheels are fetched here with ``pip download --only-binary=:all:``, which runs
no code of any project, through this machine's pip configuration (its index, proxy and CA).
pip checks each file against the index's hash; the context ships them beside the projects, and
pip in the build finds them with ``--no-index --find-links``.

A set of requirements resolved once is kept: its files in the store of verified files
(`envsnap.rebuild.wheelhouse`), their names and hashes under ``<cache home>/build-deps``, so a
warm render runs no pip. A requirement that the backend adds only when asked at build time
(``get_requires_for_build_wheel``) cannot be known without running it: the build then fails
naming it, and the README says so.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .._io import cache_home, cache_key, file_sha256, write_atomic
from .._subprocess import pip, run
from ..errors import BuildError, InputError
from . import wheelhouse

__all__ = ["LEGACY", "fetch", "parse_requires", "sdist_requires", "tree_requires"]

# What pip builds a project with when it has no [build-system] table (PEP 517's fallback).
LEGACY = ("setuptools>=40.8.0", "wheel")
FORMAT = 1
TIMEOUT_S = 600.0
_MAX_PYPROJECT = 1 << 20


def parse_requires(text: str, what: str) -> tuple[str, ...]:
    """The build requirements in pyproject.toml *text*, sorted; `InputError` naming *what*.

    ``wheel`` is added beside setuptools: setuptools before 70.1 asks for it at build time.
    A requirement by URL is refused (fetching it could mean building it here).
    """
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what}: not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{what}: nested too deeply") from None
    system = data.get("build-system")
    if system is None:
        return LEGACY
    requires = system.get("requires") if isinstance(system, dict) else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise InputError(f"{what}: build-system.requires: expected a list of strings")
    found = set()
    for text_req in requires:
        try:
            req = Requirement(text_req)
        except InvalidRequirement as exc:
            raise InputError(f"{what}: build-system.requires: {exc}") from None
        if req.url:
            raise InputError(
                f"{what}: build-system.requires: {req.name} by URL is not supported (only "
                "requirements an index serves as wheels)"
            )
        found.add(str(req))
    names = {canonicalize_name(Requirement(r).name) for r in found}
    if "setuptools" in names and "wheel" not in names:
        found.add("wheel")
    return tuple(sorted(found))


def tree_requires(folder: Path, what: str) -> tuple[str, ...]:
    """The build requirements of the project folder *folder*."""
    path = folder / "pyproject.toml"
    if not path.exists() and not path.is_symlink():
        return LEGACY
    from ..formats.capture import file_text

    text = file_text(path, what="pyproject.toml", limit=_MAX_PYPROJECT)
    return parse_requires(text, f"{what} pyproject.toml")


def _member(archive: Path, what: str) -> str | None:
    """The text of ``<top>/pyproject.toml`` in the sdist *archive*, read without unpacking."""
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    if _is_top_pyproject(info.filename) and info.file_size <= _MAX_PYPROJECT:
                        return zf.read(info).decode("utf-8")
            return None
        with tarfile.open(archive) as tf:
            for member in tf:
                if _is_top_pyproject(member.name) and member.isfile():
                    if member.size > _MAX_PYPROJECT:
                        raise InputError(f"{what}: pyproject.toml is larger than 1 MiB")
                    fh = tf.extractfile(member)
                    return fh.read().decode("utf-8") if fh else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{what}: cannot read the sdist ({exc})") from None
    return None


def _is_top_pyproject(name: str) -> bool:
    parts = name.strip("/").split("/")
    return len(parts) == 2 and parts[1] == "pyproject.toml"


def sdist_requires(archive: Path, what: str) -> tuple[str, ...]:
    """The build requirements of the sdist *archive* (its top folder's pyproject.toml)."""
    text = _member(archive, what)
    return LEGACY if text is None else parse_requires(text, f"{what} pyproject.toml")


def _key(requires: tuple[str, ...], python: str) -> str:
    return cache_key(f"build-deps\0{python}\0{sys.platform}\0{chr(0).join(requires)}".encode())


def _manifest(key: str) -> Path:
    return cache_home() / "build-deps" / key[:2] / f"{key}.json"


def _entries(data: object) -> list[tuple[str, str]]:
    """The (wheel name, sha256) pairs of a manifest, or none when it is not one of ours."""
    files = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT else None
    if not isinstance(files, list):
        return []
    found = []
    for entry in files:
        if not isinstance(entry, list) or len(entry) != 2:
            return []
        name, sha = entry
        if not isinstance(name, str) or not isinstance(sha, str) or "/" in name:
            return []
        found.append((name, sha))
    return found


def _cached(key: str, say: Callable[[str], None]) -> list[tuple[str, Path]] | None:
    """The files of a set resolved before, each in the store; None on a miss."""
    if wheelhouse.store_root(say) is None:
        return None
    from ..formats.capture import file_text, json_value

    try:
        path = _manifest(key)
        data = json_value(file_text(path, what="build-deps entry", limit=1 << 20), str(path))
    except InputError:
        return None
    entries = _entries(data)
    found = [(name, wheelhouse.stored(sha, say)) for name, sha in entries]
    hits = [(name, path) for name, path in found if path is not None and name.endswith(".whl")]
    return hits if entries and len(hits) == len(entries) else None


def _download(requires: tuple[str, ...], python: str, into: Path) -> list[Path]:
    args = pip(
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--dest",
        str(into),
        *requires,
    )
    done = run(args, timeout=TIMEOUT_S)
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
    if not done.ok:
        raise BuildError(
            f"cannot fetch the build requirements {', '.join(requires)} as wheels here "
            f"({lines[-1] if lines else 'no output'})",
            hint="the build in the container has no index; a requirement without a wheel "
            "cannot be fetched for it",
        )
    return sorted(p for p in into.iterdir() if p.name.endswith(".whl"))


def _place(wheel: Path, target: Path) -> None:
    """Copy *wheel* into the context, never hard-link it: a build requirement is often a locked
    package too (setuptools, packaging), whose file the context already holds as a link to the
    same stored file, and the daemon's context tar would then send one of them as a hard link,
    changing its layer's cache key from one build to the next. They are small."""
    shutil.copyfile(wheel, target)


def fetch(
    sets: Iterable[tuple[str, ...]],
    dest: Path,
    python_version: str,
    say: Callable[[str], None],
) -> tuple[str, ...]:
    """Put the wheels of every requirement set in *sets* into *dest* (each set resolved on its
    own: two projects may pin different setuptools); return the file names."""
    python = ".".join(python_version.split(".")[:2])
    names: set[str] = set()
    for requires in sorted(set(sets)):
        if not requires:
            continue
        key = _key(requires, python)
        hit = _cached(key, say)
        if hit is not None:
            for name, stored in hit:
                _place(stored, dest / name)
                names.add(name)
            continue
        say(f"fetching the build requirements {', '.join(requires)} (wheels for Python {python})")
        with tempfile.TemporaryDirectory(prefix="envsnap-build-deps-") as tmp:
            files = _download(requires, python, Path(tmp))
            entry = []
            for path in files:
                sha = file_sha256(path)
                _place(path, dest / path.name)
                wheelhouse.keep(dest / path.name, sha, say)
                entry.append([path.name, sha])
                names.add(path.name)
        if wheelhouse.store_root(say) is not None:
            doc = {"format": FORMAT, "python": python, "requires": list(requires), "files": entry}
            # A cache that cannot be written only costs a download next time.
            with contextlib.suppress(OSError):
                write_atomic(_manifest(key), json.dumps(doc, sort_keys=True) + "\n", private=True)
    return tuple(sorted(names))
