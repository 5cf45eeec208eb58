"""Which installer the image uses: the one that installs exactly the files pip installs.

The image installs each layer with pip, by the command line the Dockerfile renders (run here by
`tests.fakes.stages`); that must install the same files, RECORD rows and INSTALLER as a plain
``pip install`` of the same wheel, the way the captured environment was made. uv installs the same
locked wheels faster but not the same files (no .pyc rows in RECORD, INSTALLER says uv, its own
script launchers, a uv_cache.json and a .lock of its own), so the image keeps pip; the bench
(`bench/installers.py`) times both in the image and compares them with the same function,
`bench/records.py`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.fakes.contexts import env_with, local_index_pkg, write
from tests.fakes.projects import make_wheel
from tests.fakes.stages import run_stage
from tests.fakes.venvs import make_venv

pytestmark = pytest.mark.slow


def _records() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "records.py"
    spec = importlib.util.spec_from_file_location("bench_records", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are made
    spec.loader.exec_module(module)
    return module


records = _records()


SITE = "lib/python{}.{}/site-packages".format(*sys.version_info[:2])  # the test venv's


@pytest.fixture(scope="module")
def installs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same wheel installed three ways: the image's pip command line, plain pip, uv."""
    tmp = tmp_path_factory.mktemp("installers")
    wheel = make_wheel(tmp / "links", "demo", "1.0", script="demo-cli = demo:main")
    out = tmp / "ctx"
    dockerfile = write(env_with(local_index_pkg(wheel)), out)
    python = make_venv(tmp / "target")
    prefixes = {name: tmp / name for name in ("image", "pip", "uv")}
    done = run_stage(out, dockerfile, "envsnap-packages", python=python, prefix=prefixes["image"])
    assert done.returncode == 0, done.stderr
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    pip += ["--no-deps", "--no-index", "--find-links", str(wheel.parent)]
    pip += ["--prefix", str(prefixes["pip"]), "demo==1.0"]
    subprocess.run(pip, check=True, capture_output=True, env={"PIP_CONFIG_FILE": "/dev/null"})
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        layer = out / "layers" / "packages"
        argv = [uv, "pip", "install", "-q", "--python", str(python), "--no-cache", "--offline"]
        argv += ["--compile-bytecode", "--require-hashes", "--no-deps", "--no-index"]
        argv += ["--prefix", str(prefixes["uv"]), "--find-links", str(layer)]
        argv += ["-r", str(layer / "requirements.txt")]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}  # uv's settings
        subprocess.run(argv, check=True, capture_output=True, env=clean)
    return prefixes


def test_the_images_pip_installs_what_pip_installs(installs: dict[str, Path]) -> None:
    image = records.read_prefix(installs["image"])
    plain = records.read_prefix(installs["pip"])
    assert records.differences(image, plain, ("image", "pip")) == []
    assert f"{SITE}/__pycache__/demo.cpython-{sys.version_info[0]}{sys.version_info[1]}.pyc" in (
        image.files
    )
    assert image.installers == {"demo-1.0.dist-info": "pip"}
    rows = image.records["demo-1.0.dist-info"]
    assert tuple(r[0] for r in rows if "bin/" in r[0]) == ("../../../bin/demo-cli",)
    assert any(r[0].endswith(".pyc") for r in rows)


def test_uv_installs_other_files_so_the_image_keeps_pip(installs: dict[str, Path]) -> None:
    if not installs["uv"].exists():
        pytest.skip("no uv binary beside this interpreter or on PATH")
    image = records.read_prefix(installs["image"])
    uv = records.read_prefix(installs["uv"])
    found = records.differences(image, uv, ("pip", "uv"))
    assert found == [
        f"2 files only from uv: .lock, {SITE}/demo-1.0.dist-info/uv_cache.json",
        "RECORD differs in 1 of 1 dists (demo-1.0.dist-info): rows only from pip: 1 .pyc, "
        "1 scripts, 1 other; only from uv: 0 .pyc, 1 scripts, 2 other",
        "INSTALLER (pip vs uv): 'pip' vs 'uv'",
    ]
    launcher = "bin/demo-cli"
    assert (installs["image"] / launcher).read_text() != (installs["uv"] / launcher).read_text()
