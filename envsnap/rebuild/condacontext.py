"""The conda part of an image's build context: ``conda/`` holds the locked conda files, fetched
here and sha256-checked, their manifest, the link script (`envsnap.rebuild.condalink`, copied
as it is) and ``conda/tool/``: the pinned py-rattler wheel with a hash-pinned requirements file.

The image's conda stage (`envsnap.render.condastage`) installs that wheel and runs the script,
so the build needs no network, no conda channel, no micromamba image and runs no solver. The
wheel is downloaded here once per version and platform (pip, the index this machine already
reaches) and kept in envsnap's cache; its sha256 goes into the requirements file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from .._io import cache_home, file_sha256
from .._subprocess import pip, run
from ..errors import InputError
from ..model import CondaEnv
from . import condalink
from .condafiles import fetch_conda

__all__ = ["CONDA_DIR", "RATTLER_VERSION", "rattler_version", "write_conda"]

CONDA_DIR = "conda"
# The py-rattler the image links with when this machine has none installed.
RATTLER_VERSION = "0.28.0"
_PLATFORMS = {"linux-64": "manylinux2014_x86_64", "linux-aarch64": "manylinux2014_aarch64"}


def rattler_version() -> str:
    """The py-rattler version installed here (what ``rebuild --prefix`` links with), else the
    pinned default: the image links with the same one."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("py-rattler")
    except PackageNotFoundError:
        return RATTLER_VERSION


def _wheel(platform: str, python_version: str, dest: Path, say: Callable[[str], None]) -> Path:
    """Put the py-rattler wheel for *platform* (a conda subdir) into *dest*: from the cache
    when only this user could have put it there (`untrusted_folder`, as for envsnap's own
    wheels), else downloaded; a download is kept in the cache when it can be written."""
    import contextlib
    import tempfile

    from .._io import private_dir, untrusted_folder
    from .wheelhouse import say_once

    tag = _PLATFORMS.get(platform)
    if tag is None:
        raise InputError(f"conda-lock.yml: no py-rattler wheel for platform {platform!r} here")
    wanted = rattler_version()
    store = cache_home() / "rattler-wheels" / f"{wanted}-{tag}"
    why = untrusted_folder(store)
    if why is not None:
        say_once(str(store.parent), f"ignoring the cache {store.parent}: {why}", say)
    found = sorted(store.glob("py_rattler-*.whl")) if why is None and store.is_dir() else []
    if found:
        shutil.copyfile(found[0], dest / found[0].name)
        return dest / found[0].name
    say(f"downloading py-rattler {wanted} for {platform} (the image's conda stage links with it)")
    short = "".join(python_version.split(".")[:2])
    with tempfile.TemporaryDirectory(prefix="envsnap-rattler-") as part:
        done = run(
            pip(
                "download", "-q", "--no-deps", "--only-binary=:all:", "--platform", tag,
                "--python-version", short, "--implementation", "cp", "-d", part,
                f"py-rattler=={wanted}",
            ),
            timeout=600,
        )  # fmt: skip
        wheels = sorted(Path(part).glob("py_rattler-*.whl"))
        if not done.ok or len(wheels) != 1:
            last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise InputError(f"py-rattler=={wanted}: pip download failed ({last})")
        shutil.copyfile(wheels[0], dest / wheels[0].name)
        if why is None:
            with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
                private_dir(store.parent)
                tmp = Path(tempfile.mkdtemp(prefix=".rattler-", dir=store.parent))
                shutil.copyfile(wheels[0], tmp / wheels[0].name)
                try:
                    tmp.rename(store)  # another run's complete store stays
                except OSError:
                    shutil.rmtree(tmp, ignore_errors=True)
    return dest / wheels[0].name


def write_conda(
    conda: CondaEnv,
    out: Path,
    capture_dir: Path,
    *,
    python_version: str,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Write ``conda/`` into the context *out*; return its files, relative to *out*."""
    say = progress or (lambda _m: None)
    dest = out / CONDA_DIR
    say(f"fetching {len(conda.packages)} conda files (sha256-checked)")
    names = list(fetch_conda(conda, dest, capture_dir, ca_cert=ca_cert, progress=say))
    shutil.copyfile(condalink.__file__, dest / "condalink.py")
    tool = dest / "tool"
    tool.mkdir()
    wheel = _wheel(conda.platform, python_version, tool, say)
    requirement = f"py-rattler=={rattler_version()} --hash=sha256:{file_sha256(tool / wheel.name)}"
    (tool / "requirements.txt").write_text(requirement + "\n", encoding="utf-8")
    names += ["condalink.py", f"tool/{wheel.name}", "tool/requirements.txt"]
    return sorted(f"{CONDA_DIR}/{n}" for n in names)
