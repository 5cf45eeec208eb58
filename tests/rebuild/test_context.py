"""The build context on disk: copied and downloaded files, source trees, the tool, cleanup.

Nothing is built on this machine: a stage that builds (the local layer) is run here from the
rendered Dockerfile by `tests.fakes.stages`, as the image build would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envsnap import _cache, model
from envsnap.errors import InputError
from envsnap.formats import pylock
from envsnap.model import ArtifactFile, Package
from envsnap.rebuild import rebuild
from envsnap.rebuild.context import prepare_dir, write_context
from envsnap.render import make_plan
from tests.fakes import samples
from tests.fakes.contexts import env_with, local_index_pkg, write
from tests.fakes.projects import git, make_project, make_sdist, make_wheel, serve, sha256
from tests.fakes.sitepackages import SimpleIndex
from tests.fakes.stages import run_stage
from tests.fakes.venvs import make_venv, pip_install


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


def local_layer(out: Path, dockerfile: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the image's local-layer stage here, into a prefix beside a fresh venv."""
    python = make_venv(tmp_path / "target")
    return run_stage(out, dockerfile, "envsnap-local", python=python, prefix=tmp_path / "prefix")


def imports(tmp_path: Path, module: str) -> str:
    """``module.VERSION`` as the layer installed it (the prefix's site-packages)."""
    site = next((tmp_path / "prefix").glob("lib/python3*/site-packages"))
    code = (
        f"import sys; sys.path.insert(0, {str(site)!r}); import {module}; print({module}.VERSION)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.slow
def test_editable_folder_goes_into_the_context_and_is_built_by_the_image(
    tmp_path: Path,
) -> None:
    src = make_project(tmp_path / "mypkg", "mypkg", "0.1")
    for junk in (
        "__pycache__/m.pyc",
        "build/lib/x.py",
        "mypkg.egg-info/PKG-INFO",
        "env/pyvenv.cfg",
    ):
        (src / junk).parent.mkdir(parents=True, exist_ok=True)
        (src / junk).write_text("junk\n")
    (src / "data").mkdir()
    (src / "data" / "inside.txt").write_text("kept\n")
    (src / "link-inside").symlink_to("data/inside.txt")
    (src / "link-outside").symlink_to("/etc/hostname")
    # envsnap's own outputs in the project: an older context and a capture (README's ctx/, cap/)
    (src / "old-ctx" / "layers").mkdir(parents=True)
    (src / "old-ctx" / "Dockerfile").write_text("# Generated by envsnap rebuild from a capture\n")
    (src / "old-ctx" / "layers" / "big.whl").write_text("x")
    (src / "cap").mkdir()
    (src / "cap" / "pylock.toml").write_text("")
    (src / "cap" / "hardware.toml").write_text("")
    pkg = Package(name="mypkg", version="0.1", source="editable", url=src.as_uri())
    out = src / "ctx"  # the context inside the project is not copied into itself
    said: list[str] = []
    text = write(env_with(pkg), out, said)
    tree = out / "layers" / "local" / "src" / "mypkg"
    copied = sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if not p.is_dir())
    assert copied == ["VERSION", "backend.py", "data/inside.txt", "link-inside", "pyproject.toml"]
    assert (tree / "link-inside").read_text() == "kept\n"
    assert (out / "layers" / "local" / "sources.txt").read_text().endswith("\nmypkg==0.1\n")
    assert not (out / "layers" / "local" / "requirements.txt").exists()
    assert f"--build-on-host mypkg: using the folder {src} (copied into the build context)" in said
    assert not list((out / "layers").rglob("*.whl"))  # nothing was built here
    assert "FROM envsnap-builder AS envsnap-local" in text
    assert "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MYPKG=0.1" in text
    done = local_layer(out, text, tmp_path)
    assert done.returncode == 0, done.stderr
    assert imports(tmp_path, "mypkg") == "0.1"
    # A folder edited since the capture builds another version: the image's install refuses it.
    (src / "VERSION").write_text("mypkg 0.2\n")
    text = write(env_with(pkg), out)
    shutil.rmtree(tmp_path / "prefix")
    done = local_layer(out, text, tmp_path / "again")
    assert done.returncode != 0
    assert "No matching distribution found for mypkg==0.1" in done.stderr


@pytest.mark.slow
def test_vcs_package_is_exported_at_the_locked_commit_without_running_its_code(
    tmp_path: Path,
) -> None:
    """The repository is a stranger's: its config defines a filter that its .gitattributes
    applies and a checkout hook, both writing a marker. Fetched into envsnap's own bare
    repository and exported, none of it runs; the tree is the locked commit's."""
    repo = make_project(tmp_path / "repo", "vcspkg", "1.0")
    (repo / ".gitattributes").write_text("* filter=evil\n")
    git(repo, "init", "-q")
    marker = tmp_path / "repo-code-ran"
    git(repo, "config", "filter.evil.smudge", f"touch {marker}; cat")
    git(repo, "config", "filter.evil.clean", "cat")
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "VERSION").write_text("vcspkg 2.0\n")
    git(repo, "commit", "-q", "-am", "two")
    marker.unlink(missing_ok=True)  # the smudge of the test's own commits above
    pkg = Package(
        name="vcspkg", version="1.0", source="vcs", vcs="git", url=repo.as_uri(), commit_id=commit
    )
    out = tmp_path / "ctx"
    text = write(env_with(pkg), out)
    tree = out / "layers" / "local" / "src" / "vcspkg"
    assert (tree / "VERSION").read_text() == "vcspkg 1.0\n"
    assert not (tree / ".git").exists()
    assert not marker.exists()
    done = local_layer(out, text, tmp_path)
    assert done.returncode == 0, done.stderr
    assert imports(tmp_path, "vcspkg") == "1.0"


def test_a_commit_with_submodules_is_refused(tmp_path: Path) -> None:
    sub = make_project(tmp_path / "sub", "sub", "1.0")
    git(sub, "init", "-q")
    git(sub, "add", ".")
    git(sub, "commit", "-q", "-m", "sub")
    repo = make_project(tmp_path / "repo", "withsub", "1.0")
    git(repo, "init", "-q")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.as_uri(), "sub")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    pkg = Package(
        name="withsub",
        version="1.0",
        source="vcs",
        vcs="git",
        url=repo.as_uri(),
        commit_id=git(repo, "rev-parse", "HEAD"),
    )
    with pytest.raises(InputError, match="uses git submodules"):
        write(env_with(pkg), tmp_path / "ctx")


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
def test_a_locked_sdist_is_shipped_as_is_and_built_by_the_image(tmp_path: Path) -> None:
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
    local = out / "layers" / "local"
    assert sorted(p.name for p in local.iterdir()) == ["requirements.txt", sdist.name]
    assert (local / sdist.name).read_bytes() == sdist.read_bytes()  # the sdist, as locked
    req = (local / "requirements.txt").read_text()
    assert req.endswith(f"\nsdpkg==1.0 \\\n    --hash=sha256:{sha256(sdist)}\n")
    assert "--index-url" not in req
    assert "--no-index \\\n    --find-links /tmp/envsnap-build/layers/local" in text
    done = local_layer(out, text, tmp_path)
    assert done.returncode == 0, done.stderr
    assert imports(tmp_path, "sdpkg") == "1.0"


def test_sdist_with_fetch_in_build_stays_an_index_install(tmp_path: Path) -> None:
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
        "from the index (without --fetch-in-build, the build needs no index for it)"
    ]
    req = (out / "layers" / "packages" / "requirements.txt").read_text()
    assert f"sdpkg==1.0 \\\n    --hash=sha256:{sha256(sdist)}\n" in req


def test_sdist_with_other_bytes_is_refused_and_an_escaping_one_is_never_unpacked(
    tmp_path: Path,
) -> None:
    sdist = make_sdist(tmp_path / "links", "sdpkg", "1.0")
    with pytest.raises(InputError, match="sha256 mismatch"):
        write(env_with(sdist_pkg(sdist, sdist.as_uri(), digest="0" * 64)), tmp_path / "a")
    assert not list((tmp_path / "a" / "layers").rglob("*.tar.gz"))
    evil = make_sdist(tmp_path / "evil", "sdpkg", "1.0", evil=True)
    write(env_with(sdist_pkg(evil, evil.as_uri())), tmp_path / "b")
    shipped = tmp_path / "b" / "layers" / "local" / evil.name
    assert shipped.read_bytes() == evil.read_bytes()
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "b" / "escaped").exists()


def test_an_archive_url_gets_a_name_pip_can_match(tmp_path: Path) -> None:
    served = tmp_path / "served"
    sdist = make_sdist(served, "arch", "2.0")
    odd = sdist.rename(served / "main.tar.gz")
    with serve(served) as base:
        pkg = Package(
            name="arch",
            version="2.0",
            source="url",
            url=f"{base}/main.tar.gz",
            archive_sha256=sha256(odd),
        )
        out = tmp_path / "ctx"
        write(env_with(pkg), out, wheelhouse=True)
    assert (out / "layers" / "local" / "arch-2.0.tar.gz").read_bytes() == odd.read_bytes()
    req = (out / "layers" / "local" / "requirements.txt").read_text()
    assert f"arch==2.0 \\\n    --hash=sha256:{sha256(odd)}\n" in req


@pytest.mark.slow
def test_build_requirements_come_from_the_index_here_once_and_never_as_a_second_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, simple_index: SimpleIndex
) -> None:
    """A project's [build-system] requires is fetched here as wheels (pip download, this
    machine's index), then kept: the next render asks no index. A requirement that is also a
    locked package is one more file, not a hard link to the locked one (the daemon's tar would
    send it as a link, and the layer's cache key would change between builds)."""
    helper = make_wheel(simple_index.folder, "helper", "1.0")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", simple_index.url)
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)
    src = make_project(tmp_path / "proj", "usespkg", "1.0")
    pyproject = (src / "pyproject.toml").read_text()
    (src / "pyproject.toml").write_text(pyproject.replace("[]", '["helper==1.0"]'))
    env = env_with(
        local_index_pkg(helper),
        Package(name="usespkg", version="1.0", source="directory", url=src.as_uri()),
    )
    for n in range(2):
        out = tmp_path / f"ctx{n}"
        said: list[str] = []
        text = write(env, out, said, wheelhouse=True)
        local = out / "layers" / "local"
        assert (local / helper.name).read_bytes() == helper.read_bytes()
        inodes = [p.stat().st_ino for p in out.rglob("*") if p.is_file() and not p.is_symlink()]
        assert len(inodes) == len(set(inodes))
        fetched = [s for s in said if s.startswith("fetching the build requirements")]
        assert fetched == (["fetching the build requirements helper==1.0 (wheels for Python "
                            "{}.{})".format(*sys.version_info[:2])] if n == 0 else [])  # fmt: skip
        done = local_layer(out, text, tmp_path / f"stage{n}")
        assert done.returncode == 0, done.stderr
    served = [r for r in simple_index.requests if "helper" in r]
    assert served and len(served) == len(set(served))  # the second render asked nothing
