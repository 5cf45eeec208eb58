"""The wheel cache of host-built packages: a second render runs no build, edits rebuild.

The projects' build backend logs every build it runs to a file outside the project, so "no
build" is seen directly; the VCS repository is deleted before the second render, so a served
wheel cannot have come from git.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.model import Environment, Package, replace
from envsnap.rebuild import wheelcache as wc
from envsnap.rebuild.context import prepare_dir, write_context
from envsnap.rebuild.hostwheels import build_wheel, cached_wheel
from envsnap.render import make_plan
from envsnap.render.plan import Install
from tests.fakes import samples
from tests.fakes.projects import git, make_project, sha256

# Appended to the test backend: each build_wheel call adds a line to LOG (outside the project,
# which a VCS build sees as a fresh clone in a temporary folder).
COUNTING = """
_real_build_wheel = build_wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None, editable=False):
    with open(LOG, "a") as fh:
        fh.write(NAME + "\\n")
    return _real_build_wheel(wheel_directory, config_settings, metadata_directory, editable)
"""


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "wheels"


def age(root: Path) -> Path:
    """Date every file of *root* an hour back: a tree just written is not cached (racy)."""
    past = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (past, past))
    return root


def counted_project(root: Path, name: str, version: str) -> Path:
    make_project(root, name, version)
    with open(root / "backend.py", "a", encoding="utf-8") as fh:
        fh.write(f"\nLOG = {str(root.parent / 'builds.log')!r}\n" + COUNTING)
    return age(root)


def builds(tmp_path: Path) -> list[str]:
    log = tmp_path / "builds.log"
    return log.read_text().split() if log.is_file() else []


def render(env: Environment, out: Path) -> dict[str, str]:
    """Render *env* into *out*; return {wheel file name: sha256 in requirements.txt}."""
    plan = make_plan(env, lock_digest=samples.LOCK_DIGEST)
    prepare_dir(out)
    write_context(env, plan, out, out, ca_cert=None)
    req = (out / "layers" / "local" / "requirements.txt").read_text()
    pins = {}
    for block in req.split(" @ file://")[1:]:
        name = block.split(" ", 1)[0].rsplit("/", 1)[-1]
        pins[name] = block.split("--hash=sha256:", 1)[1].split()[0]
        assert sha256(out / "layers" / "local" / name) == pins[name]  # the file is what is pinned
    return pins


def entries(cache: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(cache.glob("*/*/entry.json"))]


def env_with(*pkgs: Package) -> Environment:
    return replace(samples.cpu_env(), packages=pkgs, envvars=())


@pytest.fixture
def two(tmp_path: Path) -> tuple[Environment, Path, Path]:
    """An editable project and a project from a local git repository, both counting builds."""
    local = counted_project(tmp_path / "localpkg", "localpkg", "0.1")
    repo = counted_project(tmp_path / "repo", "gitpkg", "1.0")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    commit = git(repo, "rev-parse", "HEAD")
    env = env_with(
        Package(name="localpkg", version="0.1", source="editable", url=local.as_uri()),
        Package(
            name="gitpkg",
            version="1.0",
            source="vcs",
            vcs="git",
            url=repo.as_uri(),
            commit_id=commit,
        ),
    )
    return env, local, repo


@pytest.mark.slow
def test_second_render_runs_no_build_and_needs_no_repository(
    tmp_path: Path, cache: Path, two: tuple[Environment, Path, Path]
) -> None:
    env, _local, repo = two
    first = render(env, tmp_path / "ctx")
    assert sorted(builds(tmp_path)) == ["gitpkg", "localpkg"]
    assert sorted(str(e["wheel"]) for e in entries(cache)) == sorted(first)
    shutil.rmtree(repo)  # the commit is immutable: its cached wheel needs no git
    second = render(env, tmp_path / "ctx")
    assert second == first
    assert sorted(builds(tmp_path)) == ["gitpkg", "localpkg"]  # no new build
    # Served by a hard link to the cache entry, not rebuilt.
    for e in entries(cache):
        cached = next(cache.glob(f"*/*/{e['wheel']}"))
        assert (tmp_path / "ctx" / "layers" / "local" / str(e["wheel"])).samefile(cached)


@pytest.mark.slow
def test_editing_the_local_project_rebuilds_it(
    tmp_path: Path, cache: Path, two: tuple[Environment, Path, Path]
) -> None:
    env, local, _repo = two
    render(env, tmp_path / "ctx")
    before = {e["wheel"]: e["key"] for e in entries(cache)}
    (local / "module.py").write_text("X = 1\n")
    age(local)
    render(env, tmp_path / "ctx")
    assert sorted(builds(tmp_path)) == ["gitpkg", "localpkg", "localpkg"]
    after = {e["wheel"]: e["key"] for e in entries(cache)}
    assert after.keys() == before.keys()  # the project's slot was replaced, not added to
    assert after["localpkg-0.1-py3-none-any.whl"] != before["localpkg-0.1-py3-none-any.whl"]
    assert after["gitpkg-1.0-py3-none-any.whl"] == before["gitpkg-1.0-py3-none-any.whl"]
    # Build outputs and caches inside the project do not count as edits.
    for junk in ("build/lib/x.py", "dist/old.whl", "localpkg.egg-info/PKG-INFO", "__pycache__/a"):
        (local / junk).parent.mkdir(parents=True, exist_ok=True)
        (local / junk).write_text("junk\n")  # fresh, yet not racy: not part of the tree
    render(env, tmp_path / "ctx")
    assert sorted(builds(tmp_path)) == ["gitpkg", "localpkg", "localpkg"]


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "flip", "entry-json", "no-entry-json", "no-wheel"])
def test_a_damaged_entry_is_dropped_and_rebuilt(
    tmp_path: Path, cache: Path, two: tuple[Environment, Path, Path], damage: str
) -> None:
    env, _local, _repo = two
    first = render(env, tmp_path / "ctx")
    entry = next(p.parent for p in cache.glob("*/*/entry.json") if "localpkg" in p.read_text())
    wheel = entry / "localpkg-0.1-py3-none-any.whl"
    shutil.rmtree(tmp_path / "ctx")  # the context holds hard links to the cached wheels
    if damage == "truncate":
        os.truncate(wheel, 10)
    elif damage == "flip":  # same size, other bytes
        data = bytearray(wheel.read_bytes())
        data[-1] ^= 0xFF
        wheel.write_bytes(bytes(data))
    elif damage == "entry-json":
        (entry / "entry.json").write_text("{not json")
    elif damage == "no-entry-json":
        (entry / "entry.json").unlink()
    else:
        wheel.unlink()
    second = render(env, tmp_path / "ctx")
    assert sorted(builds(tmp_path)) == ["gitpkg", "localpkg", "localpkg"]
    assert second["gitpkg-1.0-py3-none-any.whl"] == first["gitpkg-1.0-py3-none-any.whl"]
    healed = next(e for e in entries(cache) if e["wheel"] == "localpkg-0.1-py3-none-any.whl")
    assert healed["sha256"] == second["localpkg-0.1-py3-none-any.whl"]
    assert sha256(next(cache.glob("*/*/localpkg-0.1-py3-none-any.whl"))) == healed["sha256"]


@pytest.mark.slow
def test_a_cached_wheel_of_another_version_is_never_served(
    tmp_path: Path, two: tuple[Environment, Path, Path]
) -> None:
    env, _local, _repo = two
    render(env, tmp_path / "ctx")
    newer = replace(env.packages[0], version="0.2")
    with pytest.raises(InputError, match=r"builds localpkg 0\.1, but the lock records 0\.2"):
        render(env_with(newer, env.packages[1]), tmp_path / "ctx")
    assert builds(tmp_path).count("localpkg") == 2  # the mismatch went to pip, which refused


@pytest.mark.slow
def test_an_unwritable_cache_only_costs_a_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two: tuple[Environment, Path, Path]
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "not-a-folder"))
    env, _local, _repo = two
    first, second = render(env, tmp_path / "ctx"), render(env, tmp_path / "ctx2")
    assert first.keys() == second.keys()
    assert len(builds(tmp_path)) == 4


@pytest.mark.slow
def test_a_tree_written_just_now_is_built_but_not_stored(tmp_path: Path, cache: Path) -> None:
    local = counted_project(tmp_path / "localpkg", "localpkg", "0.1")
    (local / "module.py").write_text("X = 1\n")  # within the timestamp granularity: racy
    env = env_with(Package(name="localpkg", version="0.1", source="editable", url=local.as_uri()))
    render(env, tmp_path / "ctx")
    assert entries(cache) == []
    age(local)
    render(env, tmp_path / "ctx")
    render(env, tmp_path / "ctx")
    assert [e["wheel"] for e in entries(cache)] == ["localpkg-0.1-py3-none-any.whl"]
    assert builds(tmp_path) == ["localpkg", "localpkg"]


def test_short_commit_ids_are_not_cached() -> None:
    assert wc.vcs_key("file:///r", "abc1234", None) is None
    assert wc.vcs_key("file:///r", "a" * 40, None) is not None
    assert wc.vcs_key("file:///r", "a" * 40, "sub") != wc.vcs_key("file:///r", "a" * 40, None)


def test_tree_digest_follows_sources_and_skips_build_outputs(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "p", "1")
    (root / "src" / "p").mkdir(parents=True)
    (root / "src" / "p" / "__init__.py").write_text("A = 1\n")
    base = wc.tree_digest(root)
    assert wc.tree_digest(root) == base
    for junk in (".git/HEAD", "src/p/__pycache__/x.pyc", "src/p.egg-info/PKG-INFO", "build/x"):
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_text("x")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    assert wc.tree_digest(root) == base
    # A module of the package called build is source, not a build output.
    (root / "src" / "p" / "build").mkdir()
    (root / "src" / "p" / "build" / "m.py").write_text("")
    assert wc.tree_digest(root) != base


def test_tree_digest_sees_an_edit_that_keeps_size_and_mtime(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "p", "1")
    module = root / "m.py"
    module.write_text("A = 1\n")
    old = module.stat()
    before = wc.tree_digest(root)
    module.write_text("A = 2\n")
    os.utime(module, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert module.stat().st_mtime_ns == old.st_mtime_ns
    assert wc.tree_digest(root) != before


def install(pkg: Package) -> Install:
    return Install(name=pkg.name, version=pkg.version, how="build", layer="local", package=pkg)


@pytest.mark.slow
def test_an_sdist_keyed_by_its_hash_is_served_from_any_folder(tmp_path: Path, cache: Path) -> None:
    """A locked sdist is unpacked into a new temporary folder each time: its key is its hash."""
    key = wc.archive_key("ab" * 32)
    for n in range(2):
        src = counted_project(tmp_path / f"unpacked-{n}" / "sdistpkg", "sdistpkg", "2.0")
        pkg = Package(name="sdistpkg", version="2.0", source="directory", url=src.as_uri())
        name, sha = build_wheel(install(pkg), tmp_path / f"out-{n}", tmp_path / "capture", key=key)
        assert sha == sha256(tmp_path / f"out-{n}" / name)
    assert builds(tmp_path / "unpacked-0") == ["sdistpkg"]  # the second folder was not built
    assert not (tmp_path / "unpacked-1" / "builds.log").exists()
    assert len(entries(cache)) == 1
    assert cached_wheel(install(pkg), tmp_path / "out-2", key) == (name, sha)


@pytest.mark.slow
def test_cache_false_neither_reads_nor_writes(tmp_path: Path, cache: Path) -> None:
    src = counted_project(tmp_path / "p", "nocache", "1.0")
    pkg = Package(name="nocache", version="1.0", source="directory", url=src.as_uri())
    build_wheel(install(pkg), tmp_path / "out", tmp_path / "capture")
    build_wheel(install(pkg), tmp_path / "out", tmp_path / "capture", cache=False)
    assert builds(tmp_path) == ["nocache", "nocache"]
    assert len(entries(cache)) == 1
