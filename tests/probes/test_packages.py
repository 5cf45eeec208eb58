"""packages.scan against real-format dist-info trees and a real venv built by the test."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.probes import packages
from tests.fakes.sitepackages import make_project, make_wheel, write_dist_info, write_egg_info
from tests.fakes.venvs import make_venv, pip_install, site_packages

SHA = "a" * 64


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    site.mkdir()
    write_dist_info(site, "Index_Pkg", "1.0", requested=True, tags=("cp311-cp311-linux_x86_64",))
    write_dist_info(
        site,
        "from-url",
        "2.0",
        direct_url={
            "url": "https://example.org/f-2.0.tar.gz",
            "archive_info": {"hashes": {"sha256": SHA}},
        },
    )
    write_dist_info(
        site,
        "legacy-hash",
        "2.1",
        direct_url={
            "url": "file:///w/l-2.1-py3-none-any.whl",
            "archive_info": {"hash": f"sha256={SHA}"},
        },
    )
    write_dist_info(
        site,
        "from-git",
        "3.0",
        direct_url={
            "url": "https://example.org/repo.git",
            "subdirectory": "pkg",
            "vcs_info": {"vcs": "git", "commit_id": "c" * 40, "requested_revision": "v3"},
        },
    )
    write_dist_info(
        site,
        "edit-me",
        "4.0",
        direct_url={"url": "file:///src/edit", "dir_info": {"editable": True}},
    )
    write_dist_info(site, "local-dir", "5.0", direct_url={"url": "file:///src/dir", "dir_info": {}})
    write_dist_info(site, "by-uv", "6.0", installer="uv", tags=("py2-none-any", "py3-none-any"))
    write_egg_info(site, "Old.Egg", "0.9")
    return site


def test_every_source_kind_is_read_from_real_format_folders(tmp_path: Path) -> None:
    got = {p.name: p for p in packages.scan([str(_site(tmp_path))])}
    assert list(got) == sorted(got)
    assert set(got) == {
        "by-uv",
        "edit-me",
        "from-git",
        "from-url",
        "index-pkg",
        "legacy-hash",
        "local-dir",
        "old-egg",
    }
    idx = got["index-pkg"]
    assert (idx.version, idx.source, idx.requested, idx.installer) == ("1.0", "index", True, "pip")
    assert idx.wheel_tags == ("cp311-cp311-linux_x86_64",)
    assert got["from-url"].source == "url" and got["from-url"].archive_sha256 == SHA
    assert got["legacy-hash"].archive_sha256 == SHA
    git = got["from-git"]
    assert (git.source, git.vcs, git.commit_id, git.requested_revision, git.subdirectory) == (
        "vcs",
        "git",
        "c" * 40,
        "v3",
        "pkg",
    )
    assert got["edit-me"].source == "editable" and got["edit-me"].url == "file:///src/edit"
    assert got["local-dir"].source == "directory"
    assert got["by-uv"].installer == "uv" and got["by-uv"].requested is False
    assert got["by-uv"].wheel_tags == ("py2-none-any", "py3-none-any")
    assert (got["old-egg"].version, got["old-egg"].source) == ("0.9", "index")


def test_egg_info_file_and_folder_without_metadata(tmp_path: Path) -> None:
    (tmp_path / "flat-1.0-py3.11.egg-info").write_text(
        "Metadata-Version: 1.0\nName: flat\nVersion: 1.0\n", encoding="utf-8"
    )
    (tmp_path / "empty-2.0-py3.11.egg-info").mkdir()  # no PKG-INFO: nothing to report
    got = packages.scan([str(tmp_path)])
    assert [(p.name, p.version, p.source) for p in got] == [("flat", "1.0", "index")]
    folder = write_dist_info(tmp_path, "nometa", "1.0")
    (folder / "METADATA").unlink()
    with pytest.raises(InputError, match=f"^{folder / 'METADATA'}: missing$"):
        packages.scan([str(tmp_path)])


def test_only_the_header_block_is_decoded(tmp_path: Path) -> None:
    # A long non-ASCII description: the read stops inside a multi-byte character.
    body = "é" * 20000
    folder = write_dist_info(
        tmp_path, "long", "1.0", metadata=f"Name: long\r\nVersion: 1.0\r\n\r\nx{body}"
    )
    assert [(p.name, p.version) for p in packages.scan([str(tmp_path)])] == [("long", "1.0")]
    (folder / "METADATA").write_bytes(b"Name: bad\xff\nVersion: 1\n")
    with pytest.raises(InputError, match="not UTF-8 text"):
        packages.scan([str(tmp_path)])


def test_first_site_dir_wins_and_pip_leftovers_are_ignored(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_dist_info(first, "dup", "2.0")
    write_dist_info(second, "dup", "1.0")
    write_dist_info(second, "only-second", "1.0")
    leftover = write_dist_info(second, "gone", "1.0")
    leftover.rename(second / ("~" + leftover.name))
    got = packages.scan([str(first), str(second), str(tmp_path / "missing")])
    assert [(p.name, p.version) for p in got] == [("dup", "2.0"), ("only-second", "1.0")]


def test_metadata_header_parsing_stops_at_the_body() -> None:
    head = "Metadata-Version: 2.1\nName: A_b\nVersion: 1.0\nClassifier: x\n  folded\n"
    assert packages.parse_metadata_headers(head) == {
        "metadata-version": "2.1",
        "name": "A_b",
        "version": "1.0",
        "classifier": "x",
    }
    # Asked for Name and Version only, it stops once both are seen (first occurrence wins).
    late = "Classifier: x\nVERSION : 2\nName: b\nVersion: 3\nSummary: s\n"
    assert packages.parse_metadata_headers(late, only=("name", "version")) == {
        "classifier": "x",
        "version": "2",
        "name": "b",
    }


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ("Metadata-Version: 2.1\nVersion: 1.0\n", "no Name header"),
        ("this is not metadata at all\n", "no Name header"),
        ("Metadata-Version: 2.1\nName: broken\n", "no Version header for broken"),
    ],
)
def test_broken_metadata_names_the_file(tmp_path: Path, metadata: str, problem: str) -> None:
    folder = write_dist_info(tmp_path, "broken", "1.0", metadata=metadata)
    with pytest.raises(InputError) as err:
        packages.scan([str(tmp_path)])
    assert str(err.value).startswith(f"{folder / 'METADATA'}: {problem}")


def test_bad_direct_url_json_names_the_file(tmp_path: Path) -> None:
    folder = write_dist_info(tmp_path, "bad", "1.0", direct_url={"nothing": 1})
    with pytest.raises(InputError, match=str(folder / "direct_url.json")):
        packages.scan([str(tmp_path)])


def test_scan_of_500_distributions_sees_every_one(tmp_path: Path) -> None:
    for i in range(500):
        write_dist_info(tmp_path, f"pkg{i:03d}", f"1.{i}")
    got = packages.scan([str(tmp_path)])
    assert len(got) == 500 and got[7].name == "pkg007" and got[7].version == "1.7"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ("Metadata-Version: 2.1\n\nName: late\n", "no Name header"),
        ("Metadata-Version: 2.1\nName: broken\n", "no Version header"),
    ],
)
def test_cli_capture_of_a_venv_with_broken_metadata_exits_2(
    tmp_path: Path, cli, metadata: str, problem: str
) -> None:
    python = make_venv(tmp_path / "venv")
    folder = write_dist_info(site_packages(python), "broken", "1.0", metadata=metadata)
    done = cli(
        "capture",
        "-o",
        str(tmp_path / "out"),
        "--python",
        str(python),
        "--offline",
        env={"ENVSNAP_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"envsnap: error: {folder / 'METADATA'}: {problem}")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_real_venv_installs_of_every_kind(tmp_path: Path) -> None:
    """pip itself writes the records: a find-links wheel, a folder, an editable, a git checkout."""
    links = tmp_path / "links"
    make_wheel(links, "wheelie", "1.0+cpu")
    folder = make_project(tmp_path / "src" / "folder", "folder-pkg", "2.0")
    editable = make_project(tmp_path / "src" / "editable", "edit-pkg", "3.0")
    repo = make_project(tmp_path / "src" / "repo", "git-pkg", "4.0")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git[:3], "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run(
        [*git[:3], "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    python = make_venv(tmp_path / "venv")
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1"}
    pip_install(
        python,
        "--find-links",
        str(links),
        "wheelie",
        str(folder),
        "-e",
        str(editable),
        f"git+{repo.as_uri()}",
        env=env,
    )
    got = {p.name: p for p in packages.scan([str(site_packages(python))])}
    assert got["wheelie"].version == "1.0+cpu" and got["wheelie"].source == "index"
    assert got["wheelie"].wheel_tags == ("py3-none-any",) and got["wheelie"].requested
    assert got["folder-pkg"].source == "directory" and got["folder-pkg"].url == folder.as_uri()
    assert got["edit-pkg"].source == "editable" and got["edit-pkg"].url == editable.as_uri()
    assert got["git-pkg"].source == "vcs" and got["git-pkg"].commit_id == commit
    assert got["git-pkg"].vcs == "git" and got["git-pkg"].url == repo.as_uri()
    assert {p.installer for p in got.values()} == {"pip"}
