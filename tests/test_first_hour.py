"""What a new user meets in the first hour, through the real CLI (issue #10, points 3-7)."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import tomllib

from envsnap import api, model
from envsnap._defaults import DEFAULT_DIR, DISTRIBUTION, importable_name
from envsnap.formats import pylock
from envsnap.model import Package
from tests.conftest import ROOT
from tests.fakes import samples

CLI = Callable[..., subprocess.CompletedProcess[str]]


def _unhashed_capture(root: Path) -> Path:
    """A capture as an offline one with an empty hash cache leaves it: index packages without
    hashes, one hashed package among them."""
    env = model.replace(
        samples.cpu_env(),
        packages=(
            samples.index_pkg("numpy", "2.1.3"),
            Package("requests", "2.32.3", source="index"),
            Package("idna", "3.10", source="index"),
        ),
    )
    out = root / "cap"
    pylock.write(out / "pylock.toml", env)
    return out


def test_default_capture_folder_cannot_be_imported() -> None:
    assert api.DEFAULT_DIR == DEFAULT_DIR == "envsnap-capture"
    assert not importable_name(DEFAULT_DIR)
    assert importable_name("envsnap") and importable_name("out/mylab/")


def test_the_distribution_is_ours_and_the_tool_wheel_follows_it(tmp_path: Path) -> None:
    from envsnap.rebuild.toolwheels import write_tool

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "envsnap-ml"
    assert project["scripts"] == {"envsnap": "envsnap.cli:entry"}
    write_tool(tmp_path, "3.11.7")
    (wheel,) = tmp_path.glob("envsnap*.whl")
    assert wheel.name.startswith("envsnap_ml-")
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))
    assert b"\nName: envsnap-ml\n" in meta
    requirements = (tmp_path / "requirements.txt").read_text()
    assert re.search(r"^envsnap-ml==", requirements, re.MULTILINE)
    assert not re.search(r"^envsnap==", requirements, re.MULTILINE)


def test_nothing_installs_envsnap_by_name_from_an_index() -> None:
    """README, Makefile, the package, the examples and CI never `pip install envsnap` (a
    stranger's project)."""
    # `pip install [options] envsnap`, `'envsnap[docker]'`, `envsnap==0.1.0`: a bare name.
    pattern = re.compile(
        r"pip3? install (?:--?[\w-]+ )*['\"]?envsnap(?:\[[\w,]+\])?(?:[=<>~ '\"]|$)"
    )
    files = [ROOT / "README.md", ROOT / "Makefile", *ROOT.glob(".ci/*")]
    files += [*(ROOT / "envsnap").rglob("*.py")]
    files += [*(ROOT / "examples").rglob("*")]
    offenders = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in files
        if path.is_file()
        for m in pattern.finditer(path.read_text(errors="replace"))
    ]
    assert offenders == []


def test_check_in_an_empty_folder_names_the_default(cli: CLI, tmp_path: Path) -> None:
    done = cli("check", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "envsnap: error: envsnap-capture: capture directory not found (./envsnap-capture is the "
        "default; pass the capture's folder as DIR)"
    )


def test_check_and_rebuild_word_a_missing_lock_alike(cli: CLI, tmp_path: Path) -> None:
    (tmp_path / "cap").mkdir()
    check = cli("check", "cap", cwd=tmp_path)
    rebuild = cli("rebuild", "cap", "--no-build", cwd=tmp_path)
    assert (check.returncode, rebuild.returncode) == (2, 2)
    assert check.stderr == rebuild.stderr
    assert check.stderr.startswith("envsnap: error: cap/pylock.toml: not found\n")


def test_check_json_on_bad_input_prints_an_error_envelope(cli: CLI, tmp_path: Path) -> None:
    done = cli("check", str(tmp_path / "nowhere"), "--json")
    assert done.returncode == 2
    envelope = json.loads(done.stdout)
    assert envelope["version"] == 1 and envelope["compatible"] is False
    assert envelope["findings"] == []
    assert "capture directory not found" in envelope["error"]["message"]
    assert envelope["error"]["exit_code"] == 2
    assert "capture directory not found" in done.stderr


def test_a_mistyped_option_shows_the_subcommands_usage(cli: CLI) -> None:
    done = cli("capture", "--pyhton", "x")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: envsnap capture ")
    assert "unrecognized arguments: --pyhton x" in done.stderr


def test_help_lists_each_command_once(cli: CLI) -> None:
    done = cli("--help")
    assert done.returncode == 0
    for verb in ("capture", "check", "diff", "rebuild"):
        assert len(re.findall(rf"^\s+{verb}\s", done.stdout, re.MULTILINE)) == 1, done.stdout


def test_a_capture_without_hardware_says_hardware_was_skipped(cli: CLI, tmp_path: Path) -> None:
    out = tmp_path / "cap"
    done = cli("capture", "--offline", "-q", "-o", str(out))
    assert done.returncode == 0, done.stderr
    (out / "hardware.toml").unlink()
    checked = cli("check", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "hardware.skipped" in checked.stdout
    assert "has no hardware.toml: GPUs, driver, CPU and memory were not checked" in checked.stdout


def test_capture_warns_about_a_folder_named_like_a_package(cli: CLI, tmp_path: Path) -> None:
    plain = cli("capture", "--offline", "-o", "mylab", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "warning: mylab: a folder here named like a Python package shadows" in plain.stderr
    elsewhere = cli("capture", "--offline", "-o", str(tmp_path / "sub" / "mylab"), cwd=tmp_path)
    assert elsewhere.returncode == 0 and "shadows" not in elsewhere.stderr
    dashed = cli("capture", "--offline", cwd=tmp_path)
    assert dashed.returncode == 0 and "shadows" not in dashed.stderr
    assert re.match(r"captured \d+ packages?, Python .* -> envsnap-capture/$", dashed.stdout)
    assert (tmp_path / "envsnap-capture" / "pylock.toml").is_file()


def test_one_package_is_one_package(cli: CLI, tmp_path: Path) -> None:
    env = model.replace(samples.cpu_env(), packages=(samples.index_pkg("numpy", "2.1.3"),))
    pylock.write(tmp_path / "cap" / "pylock.toml", env)
    # The sample's files are served nowhere: pip in the build would download them.
    args = ("--no-build", "--context", str(tmp_path / "c"), "--fetch-in-build")
    done = cli("rebuild", str(tmp_path / "cap"), *args)
    assert done.returncode == 0, done.stderr
    assert "(1 packages)" not in done.stdout + done.stderr


def test_the_base_reason_is_said_once(cli: CLI, tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    pylock.write(cap / "pylock.toml", samples.cpu_env())
    args = ("--no-build", "--context", str(tmp_path / "c"), "--fetch-in-build")
    done = cli("rebuild", str(cap), *args)
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).count("base image") == 1


def test_rebuild_refuses_an_uninstallable_lock_in_one_line(cli: CLI, tmp_path: Path) -> None:
    cap = _unhashed_capture(tmp_path)
    for args in (["--no-build"], ["--venv", str(tmp_path / "venv")]):
        done = cli("rebuild", str(cap), *args)
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.splitlines()
        assert line == (
            f"envsnap: error: {cap / 'pylock.toml'}: 2 of 3 packages cannot be installed from "
            "the lock (idna==3.10 (index), requests==2.32.3 (index)): capture online so that "
            "they are pinned by hash, or rebuild with --allow-missing to leave them out"
        )
        assert done.stdout == ""
    assert not (tmp_path / "venv").exists()


def test_allow_missing_builds_without_them_and_labels_the_image(cli: CLI, tmp_path: Path) -> None:
    cap = _unhashed_capture(tmp_path)
    ctx = tmp_path / "ctx"
    args = ("--no-build", "--allow-missing", "--context", str(ctx), "--fetch-in-build")
    done = cli("rebuild", str(cap), *args)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: --allow-missing: left out 2 package(s) the lock cannot install (image label "
        "io.envsnap.missing): idna==3.10 (index), requests==2.32.3 (index)"
    ]
    dockerfile = (ctx / "Dockerfile").read_text()
    assert '"io.envsnap.missing"="idna==3.10 (index), requests==2.32.3 (index)"' in dockerfile


def test_capture_refuses_to_write_into_a_python_package(cli: CLI) -> None:
    """`envsnap capture -o envsnap` from the repository root would write into the source."""
    before = sorted(p.name for p in (ROOT / "envsnap").iterdir())
    done = cli("capture", "--offline", "-o", "envsnap", cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.startswith("envsnap: error: envsnap: is a Python package")
    assert sorted(p.name for p in (ROOT / "envsnap").iterdir()) == before


def test_a_local_folder_is_said_with_its_path_and_never_built_here(
    cli: CLI, tmp_path: Path
) -> None:
    """A dry run touches no folder; a context says which folder it copies (resolved) and how
    much, and holds its source tree, never a wheel built here."""
    from tests.fakes.projects import make_project

    project = make_project(tmp_path / "proj", "localpkg", "1.0")
    pkg = Package(name="localpkg", version="1.0", source="editable", url=project.as_uri())
    cap = tmp_path / "cap"
    pylock.write(cap / "pylock.toml", model.replace(samples.cpu_env(), packages=(pkg,)))
    env = {"ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
    trust = ("--build-on-host", "localpkg")
    dry = cli("rebuild", str(cap), "--no-build", *trust, env=env)
    assert dry.returncode == 0 and "using the folder" not in dry.stderr, dry.stderr
    assert dry.stdout.startswith("# Generated by envsnap rebuild")
    first = cli(
        "rebuild", str(cap), "--no-build", "--context", str(tmp_path / "a"), *trust, env=env
    )
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[:2] == [
        f"envsnap: --build-on-host localpkg: using the folder {project} (copied into the build "
        "context)",
        f"envsnap: copied 3 files (0.0 MB) of {project}",
    ]
    assert not list((tmp_path / "a" / "layers").rglob("*.whl"))
    assert (tmp_path / "a" / "layers" / "local" / "src" / "localpkg" / "backend.py").is_file()


def test_the_image_installs_envsnap_ml_from_the_context_only(cli: CLI, tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    pylock.write(cap / "pylock.toml", samples.cpu_env())
    ctx = tmp_path / "ctx"
    done = cli("rebuild", str(cap), "--no-build", "--context", str(ctx), "--fetch-in-build")
    assert done.returncode == 0, done.stderr
    dockerfile = (ctx / "Dockerfile").read_text()
    tool_stage = dockerfile.split("AS envsnap-tool", 1)[1].split("\nFROM ", 1)[0]
    assert "--no-index" in tool_stage and "--require-hashes" in tool_stage
    requirements = (ctx / "tool" / "requirements.txt").read_text()
    assert re.search(r"^envsnap-ml==0\.1\.0 --hash=sha256:[0-9a-f]{64}$", requirements, re.M)
    assert [p.name for p in (ctx / "tool").glob("envsnap*")] == [
        "envsnap_ml-0.1.0-py3-none-any.whl"
    ]
