"""A conda capture rebuilt into a real image (issue 22): the conda stage links exactly the locked
files with py-rattler (they travel in the context: no channel, no solver, no network in the
build), then pip adds the PyPI layer. In the image, `envsnap check` finds no error and no
warning, and a re-capture matches: conda files by sha256, pip packages by name and version.
A wrong sha256 fails the rebuild in one line naming the package. The channel is
tests/fakes/condachannel.py's, over ``file://``. Skips with the reason without a daemon or the
local base image (.ci/docker-setup)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats import condalock, pylock
from tests.fakes.condachannel import Channel, make_env
from tests.fakes.docker import image_ids, remove_new_dangling_images, run_container

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CLI = Callable[..., subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class Built:
    root: Path
    capture: Path
    tag: str
    rebuild: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def built(
    conda_channel: Channel,
    tmp_path_factory: pytest.TempPathFactory,
    python_slim_image: str,
    docker_client: Any,
) -> Iterator[Built]:
    from tests.conftest import run_envsnap

    before = image_ids(docker_client)
    root = tmp_path_factory.mktemp("conda-docker")
    prefix = make_env(root, conda_channel.file_url, "env", ["python", "tinyconf", "tinydata"])
    cap = root / "cap"
    done = run_envsnap("capture", "--python", str(prefix / "bin" / "python"), "-o", str(cap))
    assert done.returncode == 0, done.stderr
    tag = f"envsnap-test/conda:{root.name.lower()}"
    done = run_envsnap("rebuild", str(cap), "-t", tag, cwd=root, timeout=1500)
    assert done.returncode == 0, done.stdout + done.stderr
    yield Built(root, cap, tag, done)
    docker_client.remove_image(tag, force=True)
    remove_new_dangling_images(docker_client, before)


def test_no_micromamba_and_no_network_in_the_build(built: Built) -> None:
    assert "python:" in built.rebuild.stdout.splitlines()[0]
    assert "micromamba" not in built.rebuild.stdout + built.rebuild.stderr


def test_the_image_checks_itself_clean(built: Built) -> None:
    code, output = run_container(
        built.tag, ["envsnap", "check", "/envsnap", "--python", "/opt/conda/bin/python", "--json"]
    )
    assert code in (0, 1), output
    loud = [f for f in json.loads(output)["findings"] if f["severity"] in ("error", "warning")]
    assert loud == [], output
    assert code == 0


def test_a_recapture_in_the_image_matches(built: Built, cli: CLI) -> None:
    out = built.root / "in-image"
    out.mkdir()
    code, output = run_container(
        built.tag,
        ["envsnap", "capture", "--python", "/opt/conda/bin/python", "-o", "/out/cap", "--offline"],
        mounts={out: "/out"},
    )
    assert code == 0, output
    want = condalock.load(built.capture / "conda-lock.yml").packages
    got = condalock.load(out / "cap" / "conda-lock.yml").packages
    assert [(p.name, p.version, p.build, p.sha256, p.md5, p.url) for p in got] == [
        (p.name, p.version, p.build, p.sha256, p.md5, p.url) for p in want
    ]
    assert [(p.name, p.version) for p in pylock.load(out / "cap" / "pylock.toml").packages] == [
        (p.name, p.version) for p in pylock.load(built.capture / "pylock.toml").packages
    ]


def test_a_wrong_sha256_fails_the_rebuild_naming_the_package(
    built: Built, cli: CLI, tmp_path: Path
) -> None:
    cap = tmp_path / "cap"
    shutil.copytree(built.capture, cap)
    lock = cap / "conda-lock.yml"
    sha = next(p.sha256 for p in condalock.load(lock).packages if p.name == "libtiny")
    lock.write_text(lock.read_text().replace(sha, "f" * 64))
    done = cli("rebuild", str(cap), "-t", "envsnap-test/conda:never")
    assert done.returncode == 2
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("envsnap: error:")]
    assert len(errors) == 1
    assert errors[0].startswith(
        "envsnap: error: conda-lock.yml: conda package libtiny 2.1.0 h1a2b3c_0: sha256 mismatch"
    )
