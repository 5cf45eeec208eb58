"""Conda environments end to end (issue 22): a real prefix made by py-rattler from a real
channel (tests/fakes/condachannel.py, served over loopback HTTP), a pip package on top, captured;
conda-lock's own parser reads the lock; ``rebuild --prefix`` links exactly the locked files back
(sha256-checked) and a re-capture matches; check, diff, report and fleet see conda packages."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from envsnap.formats import condalock, pylock
from envsnap.rebuild import condalink
from tests.fakes.condachannel import PACKAGES, Channel, make_env
from tests.fakes.nvml import real_nvml_present
from tests.fakes.projects import make_wheel, serve

CLI = Callable[..., subprocess.CompletedProcess[str]]
SPECS = ["python", "tinyconf", "tinydata"]


@dataclass(frozen=True)
class Setup:
    """The channel, its HTTP URL, the captured prefix and its capture."""

    channel: Channel
    url: str
    root: Path
    prefix: Path
    capture: Path


def capture(cli: CLI, prefix: Path, out: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    done = cli("capture", "--python", str(prefix / "bin" / "python"), "-o", str(out), **kw)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def setup(conda_channel: Channel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    from tests.conftest import run_envsnap

    root = tmp_path_factory.mktemp("conda-e2e")
    with serve(conda_channel.root) as url:
        prefix = make_env(root, url, "env", SPECS)
        cap = root / "cap"
        capture(run_envsnap, prefix, cap, env={"ENVSNAP_CACHE_DIR": str(root / "cache")})
        yield Setup(conda_channel, url, root, prefix, cap)


def conda_meta(prefix: Path) -> dict[str, dict[str, object]]:
    found = {}
    for path in (prefix / "conda-meta").glob("*.json"):
        data = json.loads(path.read_text())
        found[data["name"]] = data
    return found


def locked(capture_dir: Path) -> dict[str, tuple[str, str, str, str, str]]:
    env = condalock.load(capture_dir / "conda-lock.yml")
    return {p.name: (p.version, p.build, p.url, p.sha256, p.md5) for p in env.packages}


# --- capture ------------------------------------------------------------------------------------


def test_capture_locks_every_conda_package_and_pip_only_once(setup: Setup) -> None:
    meta = conda_meta(setup.prefix)
    lock = locked(setup.capture)
    assert set(lock) == set(PACKAGES) == set(meta)
    for name, (version, build, url, sha, md5) in lock.items():
        assert (version, build) == PACKAGES[name]
        assert (url, sha, md5) == (meta[name]["url"], meta[name]["sha256"], meta[name]["md5"])
        assert url.startswith(setup.url + "/")
        assert sha == hashlib.sha256(setup.channel.package_file(name).read_bytes()).hexdigest()
    env = condalock.load(setup.capture / "conda-lock.yml")
    assert env.platform == "linux-64"
    assert [c.rstrip("/") for c in env.channels] == [setup.url]
    # tinyconf has a dist-info (INSTALLER = conda): pip sees it, the lock holds it once
    pip = pylock.load(setup.capture / "pylock.toml")
    assert [(p.name, p.version) for p in (*pip.packages,)] == [("toppkg", "0.5")]


def test_capture_records_the_machines_virtual_packages(setup: Setup) -> None:
    virtual = dict(condalock.load(setup.capture / "conda-lock.yml").virtual)
    assert virtual["__glibc"] == os.confstr("CS_GNU_LIBC_VERSION").split()[1]  # type: ignore[union-attr]
    assert os.uname().release.startswith(virtual["__linux"])
    if not real_nvml_present():  # with a real driver, __cuda is its CUDA version
        assert "__cuda" not in virtual


def test_capture_records_cuda_from_the_driver(
    setup: Setup, cli: CLI, fake_nvml, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "gpu"
    capture(cli, setup.prefix, out, env=fake_nvml.env(cuda=12040))
    assert dict(condalock.load(out / "conda-lock.yml").virtual)["__cuda"] == "12.4"


def test_conda_locks_own_parser_reads_the_lock(setup: Setup) -> None:
    import warnings

    with warnings.catch_warnings():  # its vendored conda warns about its own frozendict
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        from conda_lock.lockfile import parse_conda_lock_file

    parsed = parse_conda_lock_file(setup.capture / "conda-lock.yml")
    got = {
        p.name: (p.version, p.url, p.hash.sha256, p.hash.md5)
        for p in parsed.package
        if p.manager == "conda"
    }
    want = {n: (v, url, sha, md5) for n, (v, _b, url, sha, md5) in locked(setup.capture).items()}
    assert got == want
    assert parsed.metadata.platforms == ["linux-64"]
    assert [c.url.rstrip("/") for c in parsed.metadata.channels] == [setup.url]


# --- rebuild --prefix ---------------------------------------------------------------------------


def test_rebuild_prefix_links_exactly_the_locked_files(
    setup: Setup, cli: CLI, tmp_path: Path
) -> None:
    target = tmp_path / "rebuilt"
    done = cli("rebuild", str(setup.capture), "--prefix", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"rebuilt 5 packages into {target}\n"
    assert not (target / ".envsnap-building").exists()
    again = tmp_path / "again"
    capture(cli, target, again, env={"ENVSNAP_CACHE_DIR": str(setup.root / "cache")})
    assert locked(again) == locked(setup.capture)
    assert dict(condalock.load(again / "conda-lock.yml").virtual) == dict(
        condalock.load(setup.capture / "conda-lock.yml").virtual
    )
    # the pip layer as --venv installs it: the same name and version (its source an index now)
    pip = pylock.load(again / "pylock.toml")
    assert [(p.name, p.version) for p in pip.packages] == [("toppkg", "0.5")]
    ran = subprocess.run(
        [str(target / "bin" / "python"), "-c", "import sys, tinyconf, toppkg; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == str(target)
    assert (target / "lib" / "libtiny.so.2").is_file()
    check = cli("check", str(setup.capture), "--python", str(target / "bin" / "python"))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "matches the capture" in check.stdout


def _with_wrong_sha256(setup: Setup, dest: Path, name: str) -> Path:
    shutil.copytree(setup.capture, dest)
    lock = dest / "conda-lock.yml"
    sha = locked(setup.capture)[name][3]
    lock.write_text(lock.read_text().replace(sha, "0" * 64))
    return dest


def test_a_wrong_sha256_fails_in_one_line_naming_the_package(
    setup: Setup, cli: CLI, tmp_path: Path
) -> None:
    cap = _with_wrong_sha256(setup, tmp_path / "cap", "tinydata")
    target = tmp_path / "rebuilt"
    done = cli("rebuild", str(cap), "--prefix", str(target))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    errors = [ln for ln in lines if ln.startswith("envsnap: error:")]
    assert errors == [
        "envsnap: error: conda-lock.yml: conda package tinydata 0.3.0 0: sha256 mismatch "
        f"(lock 000000000000\u2026, file {locked(setup.capture)['tinydata'][3][:12]}\u2026)"
    ]
    assert not target.exists()
    kept = tmp_path / "mine"
    kept.mkdir()
    assert cli("rebuild", str(cap), "--prefix", str(kept)).returncode == 2
    assert kept.is_dir() and not any(kept.iterdir())


def test_a_failure_after_linking_removes_the_prefix(setup: Setup, cli: CLI, tmp_path: Path) -> None:
    """A pip layer that cannot install (a wheel for another platform) fails after the conda
    files were linked: nothing is left, and a user's empty folder is emptied, not removed."""
    cap = tmp_path / "cap"
    shutil.copytree(setup.capture, cap)
    bad = make_wheel(tmp_path / "bad", "toppkg", "0.5").rename(
        tmp_path / "bad" / "toppkg-0.5-cp27-cp27m-win32.whl"
    )
    lock = cap / "pylock.toml"
    text = lock.read_text()
    lock.write_text(
        text.replace(str(setup.root / "wheels" / "toppkg-0.5-py3-none-any.whl"), str(bad)).replace(
            hashlib.sha256(
                (setup.root / "wheels" / "toppkg-0.5-py3-none-any.whl").read_bytes()
            ).hexdigest(),
            hashlib.sha256(bad.read_bytes()).hexdigest(),
        )
    )
    target = tmp_path / "rebuilt"
    done = cli("rebuild", str(cap), "--prefix", str(target))
    assert done.returncode != 0
    assert "linked 4 conda packages" in done.stderr
    assert not target.exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    assert cli("rebuild", str(cap), "--prefix", str(mine)).returncode != 0
    assert mine.is_dir() and not any(mine.iterdir())


def test_never_over_a_file_a_link_or_someones_files(setup: Setup, cli: CLI, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine\n")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    for target, message in (
        (afile, f"{afile}: --prefix exists and is not a folder"),
        (full, f"{full}: --prefix exists and is not empty"),
        (link, "symbolic link"),
    ):
        done = cli("rebuild", str(setup.capture), "--prefix", str(target))
        assert done.returncode == 2, done.stderr
        assert message in done.stderr.splitlines()[0]
    assert afile.read_text() == "mine\n"
    assert (full / "notes.txt").read_text() == "mine\n"
    assert not (tmp_path / "elsewhere").exists()


def test_a_killed_runs_leftover_is_rebuilt(setup: Setup, cli: CLI, tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])  # a process that has ended: its ID names no one
    dead.wait()
    target = tmp_path / "rebuilt"
    (target / "conda-meta").mkdir(parents=True)
    (target / "conda-meta" / "half.json").write_text("{")
    (target / ".envsnap-building").write_text(f"{dead.pid}\n")
    done = cli("rebuild", str(setup.capture), "--prefix", str(target))
    assert done.returncode == 0, done.stderr
    assert "left by a killed run" in done.stderr
    assert not (target / "conda-meta" / "half.json").exists()
    assert set(locked(setup.capture)) == {
        json.loads(p.read_text())["name"] for p in (target / "conda-meta").glob("*.json")
    }


def test_prefix_refuses_a_pip_capture(cli: CLI, tmp_path: Path) -> None:
    from tests.fakes import samples

    cap = tmp_path / "cap"
    pylock.write(cap / "pylock.toml", samples.cpu_env())
    done = cli("rebuild", str(cap), "--prefix", str(tmp_path / "p"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"envsnap: error: {cap}: --prefix needs a conda capture (conda-lock.yml); this one is a "
        "pip environment",
        "  hint: rebuild it with --venv PATH",
    ]


# --- check, diff, report, fleet -----------------------------------------------------------------


@pytest.fixture(scope="module")
def other(setup: Setup) -> Path:
    """A second prefix from the same channel without tinydata (nor libtiny), pip on top."""
    from urllib.parse import urlsplit

    # the server of `setup` is still up: the URLs in the lock must be the same channel's
    assert urlsplit(setup.url).hostname == "127.0.0.1"
    return make_env(setup.root, setup.url, "other", ["python", "tinyconf"])


def test_check_names_the_missing_conda_packages_and_their_channel(
    setup: Setup, other: Path, cli: CLI
) -> None:
    done = cli("check", str(setup.capture), "--python", str(other / "bin" / "python"), "--json")
    assert done.returncode == 1, done.stderr
    found = {f["code"] + " " + f["message"]: f for f in json.loads(done.stdout)["findings"]}
    channel = condalock.load(setup.capture / "conda-lock.yml").channels[0]
    for name in ("libtiny", "tinydata"):
        finding = found[f"conda.missing conda package {name} is not installed"]
        version, build = PACKAGES[name]
        assert finding["severity"] == "error"
        spec = f"{name}={version}={build}"
        assert finding["remedy"] == (
            f"conda install -c {channel} {spec} (or envsnap rebuild --prefix PATH)"
        )
    assert not [f for f in found.values() if f["code"].startswith("package.")]  # pip: toppkg


def test_diff_of_two_conda_captures(setup: Setup, other: Path, cli: CLI, tmp_path: Path) -> None:
    cap = tmp_path / "other-cap"
    capture(cli, other, cap, env={"ENVSNAP_CACHE_DIR": str(setup.root / "cache")})
    done = cli("diff", str(setup.capture), str(cap), "--json")
    assert done.returncode == 1, done.stderr
    codes = {(f["code"], f["message"]) for f in json.loads(done.stdout)["findings"]}
    assert ("conda.missing", "conda package tinydata is not installed") in codes
    same = cli("diff", str(setup.capture), str(setup.capture))
    assert same.returncode == 0, same.stdout


def test_report_lists_the_conda_lock(setup: Setup, cli: CLI, tmp_path: Path) -> None:
    out = tmp_path / "REPRODUCIBILITY.md"
    done = cli("report", str(setup.capture), "-o", str(out))
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in out.read_text().splitlines() if "conda-lock.yml" in ln)
    assert "conda packages in [conda-lock.yml](" in line
    assert "4 of 4 with a checksum" in line


def test_fleet_digest_covers_conda_packages(
    setup: Setup, other: Path, cli: CLI, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    for node, prefix in (("node-a", setup.prefix), ("node-b", setup.prefix), ("node-c", other)):
        python = str(prefix / "bin" / "python")
        cli("check", str(setup.capture), "--python", python, "--save", str(reports), "--node", node)
    done = cli("fleet", str(reports), "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(done.stdout)
    text = json.dumps(data)
    assert "conda:tinydata" in text
    assert "node-c" in text


@pytest.mark.network
def test_the_image_context_holds_the_locked_conda_files_and_the_link_stage(
    setup: Setup, cli: CLI, tmp_path: Path
) -> None:
    """What the image's conda stage gets, without a daemon: the locked files (by sha256), the
    link script, the pinned py-rattler wheel (downloaded here from the index) and no micromamba."""
    ctx = tmp_path / "ctx"
    done = cli("rebuild", str(setup.capture), "--no-build", "--context", str(ctx), timeout=600)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((ctx / "conda" / "conda-files.json").read_text())
    files = {e["name"]: hashlib.sha256((ctx / "conda" / e["file"]).read_bytes()).hexdigest()
             for e in manifest["packages"]}  # fmt: skip
    assert files == {name: v[3] for name, v in locked(setup.capture).items()}
    assert (ctx / "conda" / "condalink.py").read_text() == Path(condalink.__file__).read_text()
    [wheel] = (ctx / "conda" / "tool").glob("py_rattler-*.whl")
    assert (
        hashlib.sha256(wheel.read_bytes()).hexdigest()
        in (ctx / "conda" / "tool" / "requirements.txt").read_text()
    )
    dockerfile = (ctx / "Dockerfile").read_text()
    assert "condalink.py /tmp/envsnap-build/conda /opt/conda" in dockerfile
    assert "micromamba" not in dockerfile


def test_allow_missing_leaves_out_what_the_lock_cannot_install(
    setup: Setup, cli: CLI, tmp_path: Path
) -> None:
    """As with --venv: refused naming --allow-missing, then built without the package."""
    cap = tmp_path / "cap"
    shutil.copytree(setup.capture, cap)
    lock = cap / "pylock.toml"
    ghost = '[[tool.envsnap.unhashed]]\nname = "ghost"\nversion = "1.0"\nsource = "index"\n'
    lock.write_text(lock.read_text() + ghost)  # an offline capture's unhashed index package
    refused = cli("rebuild", str(cap), "--prefix", str(tmp_path / "p1"))
    assert refused.returncode == 2 and "--allow-missing" in refused.stderr
    assert not (tmp_path / "p1").exists()
    done = cli("rebuild", str(cap), "--prefix", str(tmp_path / "p2"), "--allow-missing", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["kind"] == "prefix" and result["skipped"] == ["ghost==1.0 (index)"]
