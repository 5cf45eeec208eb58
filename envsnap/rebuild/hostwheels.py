"""Build wheels on the host for packages no index serves: local directories, editables, VCS.

The image never needs git, a build backend or the source tree: the exact commit (or the
directory) is built into a wheel here, its sha256 goes into the requirements file, and the image
installs it non-editable with ``--no-index``. A path that is gone is an `InputError` naming it.
Built wheels are kept in the wheel cache (`envsnap.rebuild.wheelcache`): rendering the same
commit or the same unchanged folder again runs no build.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from .._io import file_sha256
from .._subprocess import git, pip, run
from ..errors import BuildError, InputError
from ..render.plan import Install, local_path
from .wheelcache import Key, dir_key, lookup, place, store, vcs_key

__all__ = ["build_wheel", "cached_wheel", "local_source"]

TIMEOUT_S = 600.0


def _last(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _source_dir(item: Install, capture_dir: Path, work: Path) -> Path:
    pkg = item.package
    if pkg.source == "vcs":
        assert pkg.url is not None and pkg.commit_id is not None
        url = pkg.url.split("+", 1)[1] if pkg.url.startswith("git+") else pkg.url
        if url.startswith("file:"):
            _outside_capture(item.name, Path(unquote(urlsplit(url).path)), capture_dir)
        clone = work / "src"
        done = git(
            ["clone", "--quiet", "--no-checkout", "--", url, str(clone)],
            folder=str(work),
            timeout=300,
        )
        if not done.ok:
            raise InputError(f"{item.name}: cannot clone {url} ({_last(done.stderr)})")
        done = git(["checkout", "--quiet", pkg.commit_id], folder=str(clone), timeout=120)
        if not done.ok:
            raise InputError(f"{item.name}: commit {pkg.commit_id} not in {url}")
        return clone / pkg.subdirectory if pkg.subdirectory else clone
    return local_source(item, capture_dir)


def local_source(item: Install, capture_dir: Path) -> Path:
    """The project folder of a ``directory`` or ``editable`` package; `InputError` when gone."""
    pkg = item.package
    raw = local_path(pkg.url, f"pylock.toml: {item.name}.url")
    if raw is None:
        raise InputError(f"pylock.toml: {item.name}: {pkg.source} package without a local path")
    path = Path(raw) if Path(raw).is_absolute() else capture_dir / raw
    _outside_capture(item.name, path, capture_dir)
    if not path.is_dir():
        raise InputError(f"{path}: local package {item.name} is gone (recorded as {pkg.source})")
    if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
        raise InputError(f"{path}: not a Python project (no pyproject.toml or setup.py)")
    return path


def _outside_capture(name: str, path: Path, capture_dir: Path) -> None:
    """Refuse a project folder (or repository) inside the capture: that is the capture author's
    code, never the user's own project, whatever --build-on-host says."""
    root = capture_dir.resolve()
    where = path.resolve()
    if where == root or root in where.parents:
        raise InputError(
            f"pylock.toml: {name}: its folder lies inside the capture {capture_dir}; "
            "refused (only a project that exists on this machine outside it may be built)"
        )


def _cache_key(item: Install, capture_dir: Path) -> tuple[Key | None, Path | None]:
    """The wheel cache key of *item* and, for a local folder, that folder (checked to exist)."""
    pkg = item.package
    if pkg.source == "vcs":
        assert pkg.url is not None and pkg.commit_id is not None
        return vcs_key(pkg.url, pkg.commit_id, pkg.subdirectory), None
    src = local_source(item, capture_dir)
    return dir_key(src), src


def _matches(wheel: str, item: Install) -> bool:
    try:
        name, version, _, _ = parse_wheel_filename(wheel)
    except InvalidWheelFilename:
        return False
    return name == canonicalize_name(item.name) and version == Version(item.version)


def cached_wheel(item: Install, dest: Path, key: Key) -> tuple[str, str] | None:
    """Put the cached wheel of *key* into *dest* if it holds *item*'s locked name and version;
    return (file name, sha256), or None when there is none (build it then)."""
    hit = lookup(key)
    if hit is None or not _matches(hit.wheel.name, item):
        return None
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return place(hit.wheel, dest).name, hit.sha256
    except OSError:
        return None  # the entry went away meanwhile


def build_wheel(
    item: Install,
    dest: Path,
    capture_dir: Path,
    *,
    key: Key | None = None,
    cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, str]:
    """Build *item* into a wheel in *dest*; return (file name, sha256).

    A wheel built before from the same commit or the same unchanged folder is taken from the
    wheel cache (`envsnap.rebuild.wheelcache`) without running pip. *key* overrides the cache key
    (`wheelcache.archive_key` for a locked sdist unpacked into a temporary folder, whose path
    would make a new key each time); *cache* False builds and stores nothing. The wheel's version
    must be the locked one: a local directory edited since the capture is refused rather than
    silently baked into the image. *progress* hears of a build only when one runs (a wheel
    taken from the cache is not news).
    """
    dest.mkdir(parents=True, exist_ok=True)
    derived, src = _cache_key(item, capture_dir)
    key = (key or derived) if cache else None
    hit = cached_wheel(item, dest, key) if key is not None else None
    if hit is not None:
        return hit
    if progress is not None:
        progress(f"building a wheel of {item.name} {item.version} ({item.package.source})")
    target = _build(item, dest, capture_dir, src)
    sha = file_sha256(target)
    if key is not None:
        store(key, target, sha)
    return target.name, sha


def _build(item: Install, dest: Path, capture_dir: Path, src: Path | None) -> Path:
    """Build *item* with pip (cloning its commit first for VCS) and move the wheel into *dest*."""
    with tempfile.TemporaryDirectory(prefix="envsnap-wheel-") as tmp:
        work = Path(tmp)
        src = src or _source_dir(item, capture_dir, work)
        out = work / "out"
        argv = pip("wheel", "--no-deps", "--no-cache-dir", "-q", "-w", str(out), str(src))
        done = run(argv, timeout=TIMEOUT_S)
        wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
        if not done.ok or len(wheels) != 1:
            raise BuildError(
                f"{item.name}: building a wheel of {src} failed ({_last(done.stderr)})"
            )
        try:
            _, version, _, _ = parse_wheel_filename(wheels[0].name)
        except InvalidWheelFilename:
            raise BuildError(f"{wheels[0].name}: not a valid wheel file name") from None
        if version != Version(item.version):
            raise InputError(
                f"{src}: builds {item.name} {version}, but the lock records {item.version}"
            )
        target = dest / wheels[0].name
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        shutil.move(str(wheels[0]), target)
    return target
