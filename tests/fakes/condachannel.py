"""A real, small conda channel, built once per test session with rattler-build (issue 22).

No conda channel can be reached from these machines, so the conda tests make their own:
`build` assembles real ``.conda`` packages with rattler-build's package assembler and indexes
them with rattler (``repodata.json`` per subdir), and `create_prefix` makes a real conda prefix
from that channel with py-rattler's solver and installer. The packages:

- ``python``: this machine's interpreter (the one running the tests: binary, ``libpython``,
  the standard library without its tests), its run path made relative with patchelf the way
  conda-forge's python has it, so that a prefix (or an image) runs it wherever it lies;
- ``libtiny``: a compiled shared library (gcc), linux-64;
- ``tinyconf``: a noarch: python package with a ``dist-info`` that says ``INSTALLER = conda``
  (pip sees it; a capture must not count it twice);
- ``tinydata``: noarch: generic data that depends on libtiny.

The `conda_channel` fixture (registered through tests/conftest.py) builds it once per test
session (per xdist worker) in pytest's temp folder and skips with the reason when py-rattler or
rattler-build is missing; `Channel.file_url` is its ``file://`` URL and `serve` from
tests/fakes/projects.py serves `Channel.root` over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

try:  # `python -m tests.fakes.condachannel` (the README) runs without pytest
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

__all__ = [
    "PACKAGES",
    "Channel",
    "build",
    "conda_channel",
    "create_prefix",
    "make_env",
    "pip_on_top",
]

SUBDIR = "linux-64"
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
PY_VERSION = "{}.{}.{}".format(*sys.version_info[:3])
# name -> (version, build string)
PACKAGES = {
    "python": (PY_VERSION, "h0_envsnap"),
    "libtiny": ("2.1.0", "h1a2b3c_0"),
    "tinyconf": ("1.4.0", "pyh_0"),
    "tinydata": ("0.3.0", "0"),
}
# the standard library's parts that no test needs: tests, GUI, a second copy of pip
_SKIP = {"test", "tests", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip",
         "site-packages", "__pycache__"}  # fmt: skip


@dataclass(frozen=True)
class Channel:
    """A built channel: its folder (``noarch/`` and ``linux-64/`` with repodata.json)."""

    root: Path

    @property
    def file_url(self) -> str:
        return self.root.absolute().as_uri()

    def package_file(self, name: str) -> Path:
        version, build_string = PACKAGES[name]
        subdir = "noarch" if name in ("tinyconf", "tinydata") else SUBDIR
        return self.root / subdir / f"{name}-{version}-{build_string}.conda"


def _stage_python(stage: Path) -> None:
    """This interpreter's files, laid out as a conda prefix."""
    base = Path(sys.base_prefix)
    libdir = Path(sysconfig.get_config_var("LIBDIR") or base / "lib")
    binary = Path(sys.base_exec_prefix) / "bin" / f"python{PY}"
    (stage / "bin").mkdir(parents=True)
    (stage / "lib").mkdir()
    shutil.copy2(binary, stage / "bin" / f"python{PY}")
    (stage / "bin" / "python3").symlink_to(f"python{PY}")
    (stage / "bin" / "python").symlink_to(f"python{PY}")
    ldlibrary = sysconfig.get_config_var("INSTSONAME") or ""
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and (libdir / ldlibrary).exists():
        shutil.copy2(libdir / ldlibrary, stage / "lib" / ldlibrary)
        patchelf = Path(sys.executable).parent / "patchelf"
        tool = str(patchelf) if patchelf.exists() else "patchelf"
        subprocess.run(
            [tool, "--set-rpath", "$ORIGIN/../lib", str(stage / "bin" / f"python{PY}")],
            check=True,
        )
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(
        stdlib,
        stage / "lib" / f"python{PY}",
        ignore=lambda d, names: [n for n in names if n in _SKIP or n.startswith("config-")],
        symlinks=True,
    )
    (stage / "lib" / f"python{PY}" / "site-packages").mkdir()


_LIBTINY_C = "int tiny_answer(void) { return 42; }\n"


def _stage_libtiny(stage: Path, work: Path) -> None:
    source = work / "tiny.c"
    source.write_text(_LIBTINY_C, encoding="utf-8")
    (stage / "lib").mkdir(parents=True)
    (stage / "include").mkdir()
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(stage / "lib" / "libtiny.so.2"), str(source)],
        check=True,
    )
    (stage / "lib" / "libtiny.so").symlink_to("libtiny.so.2")
    (stage / "include" / "tiny.h").write_text("int tiny_answer(void);\n", encoding="utf-8")


def _stage_tinyconf(stage: Path) -> None:
    version = PACKAGES["tinyconf"][0]
    site = stage / "site-packages"
    (site / "tinyconf").mkdir(parents=True)
    (site / "tinyconf" / "__init__.py").write_text(f"VERSION = {version!r}\n", encoding="utf-8")
    info = site / f"tinyconf-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: tinyconf\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "INSTALLER").write_text("conda\n", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")


def _stage_tinydata(stage: Path) -> None:
    (stage / "share" / "tinydata").mkdir(parents=True)
    (stage / "share" / "tinydata" / "table.txt").write_text("a 1\nb 2\n", encoding="utf-8")


def build(root: Path) -> Channel:
    """Build and index the channel in *root* (created); returns it."""
    from datetime import datetime, timezone

    from rattler.index import index_fs
    from rattler_build import assemble_package

    work = root.parent / f"{root.name}-work"
    stamp = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the same bytes every session
    stages = {name: work / name for name in PACKAGES}
    _stage_python(stages["python"])
    _stage_libtiny(stages["libtiny"], work)
    _stage_tinyconf(stages["tinyconf"])
    _stage_tinydata(stages["tinydata"])
    meta: dict[str, dict[str, object]] = {
        "python": {"target_platform": SUBDIR, "depends": []},
        "libtiny": {"target_platform": SUBDIR, "depends": []},
        "tinyconf": {"target_platform": "noarch", "noarch": "python", "depends": ["python"]},
        "tinydata": {
            "target_platform": "noarch",
            "noarch": "generic",
            "depends": ["libtiny >=2.1,<3"],
        },
    }
    for name, (version, build_string) in PACKAGES.items():
        subdir = str(meta[name]["target_platform"])
        out = root / subdir
        out.mkdir(parents=True, exist_ok=True)
        assemble_package(
            name=name,
            version=version,
            build_string=build_string,
            output_dir=out,
            files_dir=stages[name],
            compression_level=1,
            timestamp=stamp,
            license="MIT",
            summary=f"{name} for envsnap's conda tests",
            **meta[name],  # type: ignore[arg-type]
        )
    (root / SUBDIR).mkdir(exist_ok=True)
    asyncio.run(index_fs(root, target_platform=None, write_zst=False, write_shards=False))
    shutil.rmtree(work)
    return Channel(root)


def create_prefix(channel_url: str, prefix: Path, specs: list[str], cache: Path) -> None:
    """Solve *specs* against the channel and install them into *prefix* with py-rattler."""
    import rattler

    async def main() -> None:
        records = await rattler.solve(
            sources=[channel_url],
            specs=specs,
            platforms=[SUBDIR, "noarch"],
            virtual_packages=[],
        )
        await rattler.install(records, target_prefix=prefix, cache_dir=cache, show_progress=False)

    asyncio.run(main())


def pip_on_top(prefix: Path, wheel: Path) -> None:
    """Install *wheel* into the prefix with pip, as a user adds a PyPI package to conda."""
    python = str(prefix / "bin" / "python")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps"),
            *("--no-index", "--no-cache-dir", "--root-user-action=ignore", str(wheel)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install {wheel.name} failed: {done.stderr}")


def make_env(root: Path, url: str, name: str, specs: list[str]) -> Path:
    """The conda prefix *root*/*name* of *specs* from the channel at *url*, with the pip package
    toppkg on top (one wheel under *root* for every prefix: a capture locks its sha256)."""
    from tests.fakes.projects import make_wheel

    prefix = root / name
    create_prefix(url, prefix, specs, root / "rattler-cache")
    wheel = root / "wheels" / "toppkg-0.5-py3-none-any.whl"
    if not wheel.exists():
        make_wheel(wheel.parent, "toppkg", "0.5")
    pip_on_top(prefix, wheel)
    return prefix


if pytest is not None:

    @pytest.fixture(scope="session")
    def conda_channel(tmp_path_factory: pytest.TempPathFactory) -> Channel:
        """The channel, built once per session; a skip with the reason without rattler."""
        for module in ("rattler", "rattler_build"):
            pytest.importorskip(
                module, reason=f"{module} is not installed (the dev extras have it)"
            )
        if shutil.which("gcc") is None:
            pytest.skip("gcc is not installed: libtiny cannot be compiled")
        return build(tmp_path_factory.mktemp("conda") / "channel")


def main(folder: Path) -> None:
    """``python -m tests.fakes.condachannel FOLDER`` (the README's conda section): the channel in
    FOLDER/channel, and FOLDER/env, a conda prefix made from it with toppkg from pip on top."""
    channel = build(folder / "channel")
    prefix = make_env(folder, channel.file_url, "env", ["python", "tinyconf", "tinydata"])
    shutil.rmtree(folder / "rattler-cache")
    print(f"channel {channel.file_url} ({len(PACKAGES)} packages); conda prefix {prefix}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
