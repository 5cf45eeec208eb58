"""The build context on disk: copied and downloaded files, local builds, the tool, cleanup."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from envsnap import _cache, model
from envsnap.errors import InputError
from envsnap.formats import pylock
from envsnap.model import ArtifactFile, Environment, Package
from envsnap.rebuild import rebuild
from envsnap.rebuild.context import prepare_dir, write_context
from envsnap.render import make_plan
from tests.fakes import samples
from tests.fakes.projects import git, make_project, make_sdist, make_wheel, serve, sha256
from tests.fakes.venvs import make_venv, pip_install


def env_with(*pkgs: Package) -> Environment:
    return model.replace(samples.cpu_env(), packages=pkgs, envvars=())


def local_index_pkg(wheel: Path, digest: str | None = None) -> Package:
    name, version = wheel.name.split("-")[:2]
    return Package(
        name=name,
        version=version,
        source="index",
        index="file:///opt/pypi/simple",
        files=(ArtifactFile(name=wheel.name, path=str(wheel), sha256=digest or sha256(wheel)),),
    )


def write(env: Environment, out: Path, **options: object) -> str:
    plan = make_plan(env, lock_digest=samples.LOCK_DIGEST, **options)  # type: ignore[arg-type]
    prepare_dir(out)
    return write_context(env, plan, out, out, ca_cert=None).dockerfile


def test_local_find_links_file_is_copied_and_pinned(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "links", "demo", "1.0")
    out = tmp_path / "ctx"
    text = write(env_with(local_index_pkg(wheel)), out)
    copied = out / "layers" / "packages" / wheel.name
    assert copied.read_bytes() == wheel.read_bytes()
    cached = list((out / "capture" / ".cache" / "index").rglob("*.json"))
    assert len(cached) == 1
    assert _cache.load(cached[0])["files"][0]["sha256"] == sha256(wheel)
    req = (out / "layers" / "packages" / "requirements.txt").read_text()
    assert f"demo==1.0 \\\n    --hash=sha256:{sha256(wheel)}\n" in req
    assert "--no-index \\\n    --find-links /tmp/envsnap-build/layers/packages" in text
    assert "COPY layers/packages/ /tmp/envsnap-build/layers/packages/" in text
    assert (out / "tool" / "requirements.txt").is_file()
    assert (out / "capture").is_dir()


def test_locked_file_with_other_bytes_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "links", "demo", "1.0")
    with pytest.raises(InputError, match="sha256 mismatch"):
        write(env_with(local_index_pkg(wheel, digest="0" * 64)), tmp_path / "ctx")


def test_locked_file_that_is_gone_is_named(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "links", "demo", "1.0")
    pkg = local_index_pkg(wheel)
    wheel.unlink()
    with pytest.raises(InputError, match=f"{wheel}: locked file of demo is gone"):
        write(env_with(pkg), tmp_path / "ctx")


def test_wheelhouse_downloads_and_verifies_over_http(tmp_path: Path) -> None:
    served = tmp_path / "served"
    good = make_wheel(served, "demo", "1.0")
    heavy = make_wheel(served, "torch", "2.8.0")
    with serve(served) as base:
        pkgs = [
            Package(
                name=w.name.split("-")[0],
                version=w.name.split("-")[1],
                source="index",
                index="https://pypi.org/simple",
                files=(ArtifactFile(name=w.name, url=f"{base}/{w.name}", sha256=sha256(w)),),
            )
            for w in (good, heavy)
        ]
        out = tmp_path / "ctx"
        text = write(env_with(*pkgs), out, wheelhouse=True)
        assert (out / "layers" / "packages" / good.name).read_bytes() == good.read_bytes()
        assert (out / "layers" / "heavy" / heavy.name).read_bytes() == heavy.read_bytes()
        assert "--index-url" not in (out / "layers" / "packages" / "requirements.txt").read_text()
        assert text.count("--no-index") == 3
        tampered = model.replace(pkgs[0], files=(model.replace(pkgs[0].files[0], sha256="1" * 64),))
        with pytest.raises(InputError, match="sha256 mismatch"):
            write(env_with(tampered), tmp_path / "ctx2", wheelhouse=True)
        assert not (tmp_path / "ctx2" / "layers" / "packages" / good.name).exists()


def test_index_packages_name_their_index_without_wheelhouse(tmp_path: Path) -> None:
    torch_index = "https://download.pytorch.org/whl/cpu"
    pkgs = (
        samples.index_pkg("numpy", "2.1.3"),
        samples.index_pkg("torch", "2.8.0+cpu", "cp311-cp311-linux_x86_64", index=torch_index),
    )
    out = tmp_path / "ctx"
    write(env_with(*pkgs), out)
    heavy = (out / "layers" / "heavy" / "requirements.txt").read_text()
    assert "--index-url https://pypi.org/simple\n--extra-index-url " + torch_index in heavy
    assert "torch==2.8.0+cpu \\\n    --hash=sha256:" in heavy
    assert sorted(p.name for p in (out / "layers" / "heavy").iterdir()) == ["requirements.txt"]


def test_directory_package_that_is_gone_is_named(tmp_path: Path) -> None:
    gone = tmp_path / "mypkg"
    pkg = Package(name="mypkg", version="0.1", source="editable", url=gone.as_uri())
    with pytest.raises(InputError, match=f"{gone}: local package mypkg is gone"):
        write(env_with(pkg), tmp_path / "ctx")


@pytest.mark.slow
def test_editable_directory_is_built_into_a_wheel(tmp_path: Path) -> None:
    src = make_project(tmp_path / "mypkg", "mypkg", "0.1")
    pkg = Package(name="mypkg", version="0.1", source="editable", url=src.as_uri())
    out = tmp_path / "ctx"
    text = write(env_with(pkg), out)
    built = out / "layers" / "local" / "mypkg-0.1-py3-none-any.whl"
    assert built.is_file()
    req = (out / "layers" / "local" / "requirements.txt").read_text()
    assert (
        "mypkg @ file:///tmp/envsnap-build/layers/local/mypkg-0.1-py3-none-any.whl \\\n"
        f"    --hash=sha256:{sha256(built)}\n"
    ) in req
    assert "FROM envsnap-builder AS envsnap-local" in text
    (src / "VERSION").write_text("mypkg 0.2\n")
    with pytest.raises(InputError, match=r"builds mypkg 0\.2, but the lock records 0\.1"):
        write(env_with(pkg), out)


@pytest.mark.slow
def test_vcs_package_is_built_at_the_locked_commit(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "repo", "vcspkg", "1.0")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "VERSION").write_text("vcspkg 2.0\n")
    git(repo, "commit", "-q", "-am", "two")
    pkg = Package(
        name="vcspkg", version="1.0", source="vcs", vcs="git", url=repo.as_uri(), commit_id=commit
    )
    out = tmp_path / "ctx"
    write(env_with(pkg), out)
    assert (out / "layers" / "local" / "vcspkg-1.0-py3-none-any.whl").is_file()


def _install_offline(venv: Path, folder: Path) -> None:
    """Install *folder*'s requirements.txt into a new *venv* as the image does: hashes
    required, no dependencies, no index, the files found in *folder*."""
    python = make_venv(venv)
    flags = ["--isolated", "--require-hashes", "--no-deps", "--no-index"]
    pip_install(python, *flags, "--find-links", str(folder), "-r", str(folder / "requirements.txt"))


@pytest.mark.slow
def test_tool_wheels_install_envsnap_into_its_own_venv(tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    write(env_with(samples.index_pkg("numpy", "2.1.3")), out)
    venv = tmp_path / "tool"
    _install_offline(venv, out / "tool")
    done = subprocess.run(
        [str(venv / "bin" / "envsnap"), "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().startswith("envsnap ")
    imported = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import envsnap.rebuild, envsnap.formats.pylock"],
        check=False,
    )
    assert imported.returncode == 0


def test_tool_wheels_are_reproducible(tmp_path: Path) -> None:
    env = env_with(samples.index_pkg("numpy", "2.1.3"))
    write(env, tmp_path / "a")
    write(env, tmp_path / "b")
    for a in sorted((tmp_path / "a" / "tool").iterdir()):
        assert a.read_bytes() == (tmp_path / "b" / "tool" / a.name).read_bytes()


def test_prepare_dir_refuses_a_foreign_folder_and_clears_its_own(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep")
    with pytest.raises(InputError, match="not an envsnap build context"):
        prepare_dir(foreign)
    assert (foreign / "precious.txt").read_text() == "keep"
    ours = tmp_path / "ours"
    write(env_with(local_index_pkg(make_wheel(tmp_path / "l", "demo", "1.0"))), ours)
    write(env_with(samples.index_pkg("numpy", "2.1.3")), ours)
    assert not (ours / "layers" / "packages" / "demo-1.0-py3-none-any.whl").exists()


def test_ctrl_c_leaves_no_temp_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture = tmp_path / "capture"
    pylock.write(capture / "pylock.toml", samples.cpu_env())
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen: list[str] = []

    def interrupt(msg: str) -> None:
        seen.append(msg)
        if msg.startswith("base image"):
            return
        raise KeyboardInterrupt

    wheel = make_wheel(tmp_path / "links", "demo", "1.0")
    env = env_with(local_index_pkg(wheel))
    pylock.write(capture / "pylock.toml", env)
    # A build (a dry run renders the Dockerfile alone and fetches nothing): interrupted while
    # fetching the locked file into its temporary context, before any daemon is asked.
    with pytest.raises(KeyboardInterrupt):
        rebuild(capture, progress=interrupt)
    assert len(seen) == 1 and seen[0].startswith("fetching"), seen
    assert list(scratch.iterdir()) == []


def test_the_seeded_hash_cache_is_what_a_capture_in_the_image_reads(tmp_path: Path) -> None:
    """The image's /envsnap/.cache/index pins an offline capture's index packages there: the
    look-up reads the seeded entries as its own (same key, same entry format)."""
    from envsnap.index.lookup import lock_hashes
    from envsnap.index.pipconfig import PipConfig

    pkg = samples.index_pkg("demo", "1.0")
    out = tmp_path / "ctx"
    write(env_with(pkg), out)
    locked = lock_hashes(
        [model.replace(pkg, files=(), index=None)],
        offline=True,
        progress=lambda _m: None,
        config=PipConfig(index_url=pkg.index or ""),
        cache_dir=out / "capture" / ".cache" / "index",
    )
    assert locked.unhashed == ()
    assert (locked.packages[0].index, locked.packages[0].files) == (pkg.index, pkg.files)


@pytest.fixture
def wheel_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private envsnap cache (the wheel cache lives in it)."""
    monkeypatch.setenv("ENVSNAP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def sdist_pkg(sdist: Path, url: str, digest: str | None = None) -> Package:
    name, version = sdist.name.removesuffix(".tar.gz").rsplit("-", 1)
    return Package(
        name=name,
        version=version,
        source="index",
        index="https://pypi.org/simple",
        files=(ArtifactFile(name=sdist.name, url=url, sha256=digest or sha256(sdist)),),
    )


@pytest.mark.slow
def test_wheelhouse_builds_a_locked_sdist_into_a_hashed_wheel(
    tmp_path: Path, wheel_cache: Path
) -> None:
    served = tmp_path / "served"
    sdist = make_sdist(served, "sdpkg", "1.0")
    wheel = make_wheel(served, "demo", "1.0")
    with serve(served) as base:
        env = env_with(
            sdist_pkg(sdist, f"{base}/{sdist.name}"),
            Package(
                name="demo",
                version="1.0",
                source="index",
                index="https://pypi.org/simple",
                files=(
                    ArtifactFile(name=wheel.name, url=f"{base}/{wheel.name}", sha256=sha256(wheel)),
                ),
            ),
        )
        out = tmp_path / "ctx"
        text = write(env, out, wheelhouse=True)
    plan = make_plan(env, lock_digest=samples.LOCK_DIGEST, wheelhouse=True)
    assert [(i.name, i.how, i.layer) for i in plan.installs] == [
        ("demo", "index", "packages"),
        ("sdpkg", "sdist", "local"),
    ]
    built = out / "layers" / "local" / "sdpkg-1.0-py3-none-any.whl"
    assert sorted(p.name for p in (out / "layers" / "local").iterdir()) == [
        "requirements.txt",
        built.name,
    ]  # the wheel, not the sdist
    req = (out / "layers" / "local" / "requirements.txt").read_text()
    assert req.endswith(f"\nsdpkg==1.0 \\\n    --hash=sha256:{sha256(built)}\n")
    assert "--index-url" not in req
    assert "FROM envsnap-builder AS envsnap-local" in text
    assert "--no-index \\\n    --find-links /tmp/envsnap-build/layers/local" in text
    # pip, as the image runs it: hashes required, no index, the wheel found by name and version.
    venv = tmp_path / "venv"
    _install_offline(venv, out / "layers" / "local")
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sdpkg; print(sdpkg.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "1.0\n"


def test_sdist_without_wheelhouse_stays_an_index_install(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "served", "sdpkg", "1.0")
    env = env_with(sdist_pkg(sdist, "https://files.example.org/sdpkg-1.0.tar.gz"))
    plan = make_plan(env, lock_digest=samples.LOCK_DIGEST)
    assert [(i.how, i.layer) for i in plan.installs] == [("index", "packages")]
    out = tmp_path / "ctx"
    prepare_dir(out)
    said: list[str] = []
    write_context(env, plan, out, out, progress=said.append)
    assert said == [
        "sdpkg 1.0 is locked as an sdist only: pip builds it in the image with a build backend "
        "from the index (--wheelhouse builds it here)"
    ]
    req = (out / "layers" / "packages" / "requirements.txt").read_text()
    assert f"sdpkg==1.0 \\\n    --hash=sha256:{sha256(sdist)}\n" in req


@pytest.mark.slow
def test_sdist_on_the_host_is_built_even_without_wheelhouse_and_cached_by_hash(
    tmp_path: Path, wheel_cache: Path
) -> None:
    sdist = make_sdist(tmp_path / "links", "sdpkg", "1.0")
    pkg = sdist_pkg(sdist, sdist.as_uri())
    out = tmp_path / "ctx"
    write(env_with(pkg), out)
    built = out / "layers" / "local" / "sdpkg-1.0-py3-none-any.whl"
    req = (out / "layers" / "local" / "requirements.txt").read_text()
    assert f"sdpkg==1.0 \\\n    --hash=sha256:{sha256(built)}\n" in req
    first = built.read_bytes()
    # The wheel cache knows the sdist by its locked hash: the next render neither fetches
    # nor builds it (the file is gone now), and puts the same wheel in the context.
    sdist.unlink()
    write(env_with(pkg), out)
    assert built.read_bytes() == first
    assert (out / "layers" / "local" / "requirements.txt").read_text() == req


def test_sdist_with_other_bytes_or_escaping_members_is_refused(
    tmp_path: Path, wheel_cache: Path
) -> None:
    sdist = make_sdist(tmp_path / "links", "sdpkg", "1.0")
    with pytest.raises(InputError, match="sha256 mismatch"):
        write(env_with(sdist_pkg(sdist, sdist.as_uri(), digest="0" * 64)), tmp_path / "a")
    evil = make_sdist(tmp_path / "evil", "sdpkg", "1.0", evil=True)
    with pytest.raises(InputError, match="points outside the archive"):
        write(env_with(sdist_pkg(evil, evil.as_uri())), tmp_path / "b")
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path / "b" / "layers" / "local" / "sdpkg-1.0-py3-none-any.whl").exists()
