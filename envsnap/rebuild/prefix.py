"""`envsnap rebuild --prefix PATH`: rebuild a conda capture into a conda prefix on this machine.

The host counterpart of ``--venv`` for conda: exactly the files of conda-lock.yml, fetched here
and sha256-checked (`envsnap.rebuild.condafiles`), are linked into PATH by py-rattler (the
``conda`` extra; no solver, no link scripts: `envsnap.rebuild.condalink`), then the PyPI
packages of pylock.toml are installed on top as ``--venv`` installs them.

A conda prefix records its own path in its files as they are linked, so it cannot be built
aside and moved into place as a venv is: it is built at PATH, complete or removed. A failure
after linking began removes what was made (a folder the user made empty beforehand is kept,
emptied); PATH is never a file nor reached through a symbolic link. While building, PATH holds
``.envsnap-building`` with the process ID: a run that finds one whose process is gone (a killed
run) rebuilds over it; any other non-empty PATH is refused.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .._io import refuse_link
from ..errors import BuildError, InputError
from ..model import Environment
from .venv import BUILDING, alive, install_packages

if TYPE_CHECKING:
    from .result import PrefixBuilt

__all__ = ["rebuild_host_prefix", "rebuild_prefix"]


def _leftover(prefix: Path) -> bool:
    """True when *prefix* is what a killed run of this command left (its process gone)."""
    try:
        pid = int((prefix / BUILDING).read_text().strip())
    except (OSError, ValueError):
        return False
    return not alive(pid)


def _check_target(prefix: Path) -> bool:
    """Refuse a link, a file or a folder with someone's files; return whether PATH exists."""
    refuse_link(prefix, "--prefix")
    if not prefix.exists():
        return False
    if not prefix.is_dir():
        raise InputError(f"{prefix}: --prefix exists and is not a folder")
    if any(prefix.iterdir()) and not _leftover(prefix):
        raise InputError(
            f"{prefix}: --prefix exists and is not empty",
            hint=f"remove it first (rm -rf {shlex.quote(str(prefix))}) or choose another "
            "--prefix PATH; a failed rebuild leaves nothing there",
        )
    return True


def _empty(prefix: Path) -> None:
    for entry in os.scandir(prefix):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                Path(entry.path).unlink()


def _link(files: Path, prefix: Path, say: Callable[[str], None]) -> None:
    from .condalink import Mismatch, link

    try:
        import rattler  # noqa: F401 - only to say what is missing
    except ImportError:
        raise InputError(
            "--prefix: py-rattler is not installed (it links the conda packages)",
            hint="pip install 'envsnap-ml[conda]'",
        ) from None
    try:
        count = link(files, prefix)
    except Mismatch as exc:
        raise InputError(str(exc)) from None
    except Exception as exc:  # rattler's errors: one line, the package named by rattler
        raise BuildError(f"{prefix}: linking the conda packages failed ({exc})") from None
    say(f"linked {count} conda packages into {prefix}")


def rebuild_prefix(
    env: Environment,
    capture_dir: Path,
    prefix: Path,
    *,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
    folders: Mapping[str, Path] | None = None,
) -> tuple[str, ...]:
    """Create the conda prefix *prefix* holding exactly the conda packages and PyPI packages
    locked in *env*; return the names installed (conda's, then pip's)."""
    say = progress or (lambda _m: None)
    conda = env.conda
    if conda is None:
        raise InputError(
            f"{capture_dir}: --prefix needs a conda capture (conda-lock.yml); this one is a "
            "pip environment",
            hint="rebuild it with --venv PATH",
        )
    prefix = prefix.absolute()
    existed = _check_target(prefix)
    if existed and any(prefix.iterdir()):
        say(f"{prefix}: left by a killed run; rebuilding it")
        _empty(prefix)
    from .condafiles import fetch_conda

    made = False  # only what this run made is removed or emptied on failure
    try:
        with tempfile.TemporaryDirectory(prefix="envsnap-conda-") as tmp:
            files = Path(tmp)
            say(f"fetching {len(conda.packages)} conda files (sha256-checked)")
            fetch_conda(conda, files, capture_dir, ca_cert=ca_cert, progress=say)

            def make() -> None:
                nonlocal made
                # exist_ok only for the empty folder checked above; another run's prefix, made
                # meanwhile, is an error here, and its marker is never written over.
                prefix.mkdir(parents=True, exist_ok=existed)
                fd = os.open(prefix / BUILDING, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                made = True
                with os.fdopen(fd, "w") as marker:
                    marker.write(f"{os.getpid()}\n")
                _link(files, prefix, say)

            names = install_packages(
                env, capture_dir, prefix, prefix, make, ca_cert=ca_cert, say=say, folders=folders
            )
        (prefix / BUILDING).unlink()
    except BaseException:
        if made and prefix.is_dir() and not prefix.is_symlink():
            if existed:
                _empty(prefix)
            else:
                shutil.rmtree(prefix, ignore_errors=True)
        raise
    return (*(p.name for p in conda.packages), *names)


def rebuild_host_prefix(
    env: Environment,
    capture_dir: Path,
    prefix: Path,
    *,
    ca_cert: Path | None,
    build_on_host: Iterable[str],
    allow_missing: bool = False,
    say: Callable[[str], None],
) -> PrefixBuilt:
    """`envsnap.rebuild.rebuild` with *prefix*: the checks of ``--venv``, then the prefix."""
    from ..render.plan import plan_layers
    from .inputs import require_installable
    from .result import PrefixBuilt
    from .trust import trusted_folders

    layout = plan_layers(env)
    lock = capture_dir / "pylock.toml"
    require_installable(layout.skipped, len(env.packages), lock, allow_missing=allow_missing)
    folders = trusted_folders(layout.installs, env, capture_dir, build_on_host, venv=True, say=say)
    names = rebuild_prefix(env, capture_dir, prefix, ca_cert=ca_cert, progress=say, folders=folders)
    return PrefixBuilt(prefix=str(prefix), installed=names, skipped=layout.skipped)
