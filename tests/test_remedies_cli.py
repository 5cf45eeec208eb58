"""`envsnap check` remedies name the recorded source, one CLI test per kind of source.

A venv holds packages installed editable, from a folder, from git, from a direct URL, from the
default index and from a private index; the capture is checked against an empty venv. Each
`package.missing` remedy must install from where the package came from (never a bare name for
something no index served), and the remedies that can run here (editable, git, URL) are run:
afterwards check finds those packages.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import run_envsnap
from tests.fakes import venvs
from tests.fakes.projects import git, make_project
from tests.fakes.scenario import site_packages
from tests.fakes.sitepackages import make_wheel, write_dist_info

pytestmark = pytest.mark.slow

PRIVATE = "https://pypi.internal.example/simple"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("remedies")
    python = venvs.make_venv(root / "venv")
    editable = make_project(root / "editpkg", "editpkg", "1.0")
    folder = make_project(root / "dirpkg", "dirpkg", "2.0")
    repo = make_project(root / "gitpkg", "gitpkg", "0.1")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "gitpkg 0.1")
    commit = git(repo, "rev-parse", "HEAD").strip()
    wheel = make_wheel(root / "dl", "urlpkg", "3.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    venvs.pip_install(
        python,
        "--no-index",
        "--no-build-isolation",
        "-e",
        str(editable),
        str(folder),
        f"git+file://{repo}",
        f"urlpkg @ {wheel.as_uri()}#sha256={sha}",
        timeout=300,
    )
    site = site_packages(root / "venv")
    write_dist_info(site, "idxpkg", "4.0")
    write_dist_info(site, "privpkg", "5.0")
    capture = root / "envsnap-capture"
    done = run_envsnap("capture", "--offline", "-q", "-o", str(capture), "--python", str(python))
    assert done.returncode == 0, done.stderr
    # The private index as an online capture records it (PEP 751 `index` of the package).
    lock = capture / "pylock.toml"
    text, count = re.subn(
        r'(name = "privpkg"\nversion = "5.0"\n)', rf'\1index = "{PRIVATE}"\n', lock.read_text()
    )
    assert count == 1, lock.read_text()
    lock.write_text(text)
    shutil.rmtree(folder)  # the folder install's source is gone from this machine
    empty = venvs.make_venv(root / "empty")
    return {
        "root": root,
        "capture": capture,
        "empty": empty,
        "editable": editable,
        "folder": folder,
        "repo": repo,
        "commit": commit,
        "wheel": wheel,
        "sha": sha,
    }


def remedies(world: dict[str, Any]) -> dict[str, str]:
    done = run_envsnap("check", str(world["capture"]), "--python", str(world["empty"]), "--json")
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)["findings"]
    return {f["message"].split()[0]: f["remedy"] for f in found if f["code"] == "package.missing"}


def test_editable_names_the_folder(world: dict[str, Any]) -> None:
    assert remedies(world)["editpkg"] == f"pip install -e {world['editable']}"


def test_folder_not_on_this_machine_says_so(world: dict[str, Any]) -> None:
    remedy = remedies(world)["dirpkg"]
    assert remedy.startswith(f"the folder {world['folder']} is not on this machine: copy it")
    assert "rebuild" in remedy and "pip install dirpkg" not in remedy


def test_vcs_names_the_url_at_its_commit(world: dict[str, Any]) -> None:
    expected = f"pip install gitpkg@git+file://{world['repo']}@{world['commit']}"
    assert remedies(world)["gitpkg"] == expected


def test_url_names_the_url_with_its_hash(world: dict[str, Any]) -> None:
    spec = f"urlpkg@{world['wheel'].as_uri()}#sha256={world['sha']}"
    expected = f"pip install {shlex.quote(spec)}"  # '#' starts a shell comment: quoted
    assert remedies(world)["urlpkg"] == expected


def test_index_package_names_the_version(world: dict[str, Any]) -> None:
    assert remedies(world)["idxpkg"] == "pip install idxpkg==4.0"


def test_private_index_package_names_its_index(world: dict[str, Any]) -> None:
    assert remedies(world)["privpkg"] == f"pip install --index-url {PRIVATE} privpkg==5.0"


def test_the_remedies_install_what_was_recorded(world: dict[str, Any]) -> None:
    found = remedies(world)
    for name in ("editpkg", "gitpkg", "urlpkg"):
        argv = shlex.split(found[name])
        assert argv[:2] == ["pip", "install"]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(world["empty"]),
                "install",
                "-q",
                "--no-index",
                "--no-build-isolation",
                *argv[2:],
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    after = remedies(world)
    assert {"editpkg", "gitpkg", "urlpkg"}.isdisjoint(after), after
    assert {"dirpkg", "idxpkg", "privpkg"} <= set(after)
