"""`envsnap repro --image`: a numpy job run here and in an image that `envsnap rebuild` made
from the capture of the venv it ran in; the image reproduces this machine's weights bit for bit.

numpy rather than torch: the torch CPU wheel makes an image of about a gigabyte, which the CI
daemon's vfs storage copies layer by layer for minutes; the comparison is the same code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats import repro
from tests.fakes.docker import image_ids, remove_new_dangling_images

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
JOB = Path(__file__).with_name("jobs") / "npjob.py"


def envsnap(*args: str | Path, cwd: Path, path: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT)
    if path:
        env["PATH"] = f"{path}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=1800,
        check=False,
    )


@pytest.fixture(scope="module")
def image(
    tmp_path_factory: pytest.TempPathFactory,
    numpy_python: Path,
    python_slim_image: str,
    docker_client: Any,
) -> Iterator[tuple[str, Path, Path]]:
    """(tag, capture, the venv's bin folder): numpy's venv captured and rebuilt as an image."""
    before = image_ids(docker_client)
    root = tmp_path_factory.mktemp("repro-image")
    cap = root / "cap"
    done = envsnap("capture", "--python", numpy_python, "-o", cap, "-q", cwd=root)
    assert done.returncode == 0, done.stderr
    tag = f"envsnap-test/repro:{root.name.lower()}"
    built = envsnap("rebuild", cap, "--wheelhouse", "-t", tag, cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    yield tag, cap, numpy_python.parent
    docker_client.remove_image(tag, force=True)
    remove_new_dangling_images(docker_client, before)


def test_the_rebuilt_image_reproduces_the_weights_bit_for_bit(
    image: tuple[str, Path, Path], tmp_path: Path
) -> None:
    tag, cap, bin_dir = image
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(JOB, work / "npjob.py")
    done = envsnap(
        "repro",
        "--image",
        tag,
        "--capture",
        cap,
        "--",
        "python",
        "npjob.py",
        cwd=work,
        path=str(bin_dir),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == (
        f"image {tag} reproduces this machine's outputs bit for bit (2 outputs, 1 tensor)"
    )
    rec = repro.load(cap / "repro.toml")
    assert rec.reproducible and rec.environments == (
        ("this machine", "host"),
        (f"image {tag}", "image"),
    )
    weights = next(o for o in rec.outputs if o.path == "weights.npy")
    assert len(weights.sha256) == 2 and weights.sha256[0] == weights.sha256[1]
    assert sorted(p.name for p in work.iterdir()) == ["npjob.py"]
    js = envsnap(
        "repro",
        "--image",
        tag,
        "--no-record",
        "--json",
        "--",
        "python",
        "npjob.py",
        cwd=work,
        path=str(bin_dir),
    )
    sides = json.loads(js.stdout)["environments"]
    assert [s["kind"] for s in sides] == ["host", "image"]


def test_an_image_that_is_not_there(docker_client: Any, tmp_path: Path) -> None:
    done = envsnap("repro", "--image", "envsnap-test/none:0", "--", "true", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "envsnap: error: --image envsnap-test/none:0: no such image on the Docker daemon" in (
        done.stderr
    )
