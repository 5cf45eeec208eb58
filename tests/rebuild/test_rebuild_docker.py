"""End to end through a real Docker daemon: capture a venv, rebuild it as an image, prove it.

The venv holds numpy (from the configured index), an editable local project and a project
installed from a local git repository. `envsnap rebuild --wheelhouse` builds the image with no
network inside Docker; in the image, `envsnap capture` and `envsnap check /envsnap` must find the
same Python and packages. Changing one small package's version must reuse the numpy layer.
Skips with the reason when no daemon answers or the local base image is missing (.ci/docker-setup).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomllib

from envsnap.engine.docker import DockerEngine
from envsnap.formats import pylock
from tests.fakes import venvs
from tests.fakes.docker import image_ids, remove_new_dangling_images, run_container
from tests.fakes.projects import git, make_project

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CLI = Callable[..., subprocess.CompletedProcess[str]]
NUMPY = "numpy==2.4.6"
# Findings of these categories would mean the image is not the captured environment.
MUST_MATCH = {"python", "packages"}


@dataclass(frozen=True)
class Project:
    """The captured venv, its capture and the image rebuilt from it."""

    root: Path
    python: Path
    repo: Path
    capture: Path
    tag: str
    rebuild: subprocess.CompletedProcess[str]


def make_project_venv(root: Path) -> tuple[Path, Path]:
    """A venv with numpy, an editable project and a git-installed project; (python, repo)."""
    python = venvs.make_venv(root / "venv")
    editable = make_project(root / "localpkg", "localpkg", "1.0")
    repo = make_project(root / "gitpkg", "gitpkg", "0.1")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "gitpkg 0.1")
    venvs.pip_install(python, NUMPY, "-e", str(editable), f"git+file://{repo}", timeout=300)
    return python, repo


def capture_and_rebuild(cli: CLI, root: Path, python: Path, name: str, tag: str) -> Any:
    capture = root / name
    done = cli("capture", "--python", str(python), "-o", str(capture), "-q")
    assert done.returncode == 0, done.stderr
    allow = ("--build-on-host", "localpkg", "--build-on-host", "gitpkg")  # our own projects
    built = cli("rebuild", str(capture), "--wheelhouse", "-t", tag, *allow, cwd=root, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    return capture, built


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, python_slim_image: str, docker_client: Any
) -> Any:
    from tests.conftest import run_envsnap

    before = image_ids(docker_client)
    root = tmp_path_factory.mktemp("e2e")
    python, repo = make_project_venv(root)
    tag = f"envsnap-test/e2e:{root.name.lower()}"
    capture, built = capture_and_rebuild(run_envsnap, root, python, "cap", tag)
    yield Project(root, python, repo, capture, tag, built)
    docker_client.remove_image(tag, force=True)
    remove_new_dangling_images(docker_client, before)  # the build stages, kept as cache


def pins(capture: Path) -> set[tuple[str, str]]:
    """The (name, version) of every package of a capture, hashed or not."""
    return {(p.name, p.version) for p in pylock.load(capture / "pylock.toml").packages}


def findings(report: str, categories: set[str]) -> list[dict[str, str]]:
    return [f for f in json.loads(report)["findings"] if f["category"] in categories]


def test_rebuild_records_the_image(project: Project, docker_client: Any) -> None:
    record = tomllib.loads((project.capture / "image.toml").read_text())
    text = json.dumps(record)
    image = docker_client.inspect_image(project.tag)
    assert image["Id"] in text
    assert project.tag in text
    base = docker_client.inspect_image(
        "python:{}.{}.{}-slim-bookworm".format(*sys.version_info[:3])
    )
    # A local base has no registry digest: its image ID is recorded, nothing is pinned.
    assert record["base-image-id"] == base["Id"]
    assert "base-digest" not in record
    assert f"tagged {project.tag}" in project.rebuild.stdout


def test_image_holds_the_captured_python_and_packages(project: Project, cli: CLI) -> None:
    out = project.root / "in-image"
    out.mkdir()
    code, output = run_container(
        project.tag,
        [
            "envsnap",
            "capture",
            "--python",
            "/opt/venv/bin/python",
            "-o",
            "/out/cap",
            "--offline",
        ],
        mounts={out: "/out"},
    )
    assert code == 0, output
    diff = cli("diff", str(project.capture), str(out / "cap"), "--json")
    assert diff.returncode in (0, 1), diff.stderr
    assert findings(diff.stdout, MUST_MATCH) == []
    # Offline in the image, nothing is hashed: read both with envsnap's own loader.
    recorded = pins(project.capture)
    assert {name for name, _ in recorded} == {"gitpkg", "localpkg", "numpy"}
    assert pins(out / "cap") == recorded


def test_the_image_checks_itself_clean(project: Project) -> None:
    """The image's own check of its capture: no error and no warning (an image that rebuild
    made without a component nothing uses must not be told to install it)."""
    code, output = run_container(
        project.tag,
        ["envsnap", "check", "/envsnap", "--python", "/opt/venv/bin/python", "--json"],
    )
    assert code in (0, 1), output
    loud = [f for f in json.loads(output)["findings"] if f["severity"] in ("error", "warning")]
    assert loud == [], output
    assert code == 0


def test_changing_a_small_package_reuses_the_numpy_layer(project: Project, cli: CLI) -> None:
    (project.repo / "VERSION").write_text("gitpkg 0.2\n")
    git(project.repo, "commit", "-q", "-am", "gitpkg 0.2")
    venvs.pip_install(project.python, f"git+file://{project.repo}", timeout=300)
    docker = pytest.importorskip("docker")
    tag = project.tag + "-b"
    try:
        _, built = capture_and_rebuild(cli, project.root, project.python, "cap2", tag)
    finally:
        with DockerEngine() as engine, contextlib.suppress(docker.errors.ImageNotFound):
            engine.api().remove_image(tag, force=True)
    lines = built.stderr.splitlines()
    steps = {i: line for i, line in enumerate(lines) if line.startswith("[")}
    cached = {
        line
        for i, line in steps.items()
        if i + 1 < len(lines) and lines[i + 1].endswith("(cached)")
    }
    # FROM lines never report a cache hit; the COPY and RUN steps of the numpy layer must
    # ("large" when the lock records numpy's wheel size, as PyPI's JSON API gives it).
    numpy_steps = [
        s for s in steps.values() if re.search(r"\b(large|packages)\b", s) and " FROM " not in s
    ]
    assert numpy_steps, built.stderr
    assert set(numpy_steps) <= cached, built.stderr
    assert set(steps.values()) - cached, "something must have been rebuilt"
