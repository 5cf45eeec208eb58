"""`envsnap capture --json`: the summary counts each distribution once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import tomllib

DATA = Path(__file__).resolve().parent / "data"


def test_json_counts_unhashed_packages_once(cli, tmp_path: Path) -> None:
    out = tmp_path / "cap"
    env = {"ENVSNAP_CACHE_DIR": str(tmp_path / "cache"), "PIP_CONFIG_FILE": "/dev/null"}
    proc = cli("capture", "--offline", "--json", "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    lock = tomllib.loads((out / "pylock.toml").read_text())
    locked = {p["name"] for p in lock["packages"]}
    unhashed = {p["name"] for p in lock["tool"]["envsnap"].get("unhashed", [])}
    assert summary["packages"] == len(locked | unhashed)
    assert set(summary["unhashed"]) == unhashed


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns)


def test_recapture_of_an_unchanged_environment_writes_nothing(cli, tmp_path: Path) -> None:
    out = tmp_path / "cap"
    base = {"ENVSNAP_CACHE_DIR": str(tmp_path / "cache"), "PIP_CONFIG_FILE": "/dev/null"}
    args = ("capture", "--offline", "-q", "-o", str(out))
    first = cli(*args, env={**base, "SOURCE_DATE_EPOCH": "1"})
    assert first.returncode == 0, first.stderr
    files = sorted(out.iterdir())
    before = {p.name: (_stat(p), p.read_bytes()) for p in files}
    assert b"1970-01-01T00:00:01Z" in before["pylock.toml"][1]
    folders = (_stat(out), _stat(tmp_path))
    again = cli(
        "capture", "--offline", "-q", "-o", str(out), env={**base, "SOURCE_DATE_EPOCH": "9"}
    )
    assert again.returncode == 0, again.stderr
    # same capture, another time: the files (and their one time field) are left as they were
    assert {p.name: (_stat(p), p.read_bytes()) for p in sorted(out.iterdir())} == before
    # ... and no temporary folder came and went beside the capture or in it
    assert (_stat(out), _stat(tmp_path)) == folders
    # the machine changes (another CPU): hardware.toml is rewritten with the new time, only it
    proc = tmp_path / "proc"
    proc.mkdir()
    shutil.copy(DATA / "cpuinfo" / "x86_64-amd-epyc-2cpu.txt", proc / "cpuinfo")
    env = {**base, "SOURCE_DATE_EPOCH": "9", "ENVSNAP_PROC_ROOT": str(proc)}
    moved = cli(*args, env=env)
    assert moved.returncode == 0, moved.stderr
    hw = (out / "hardware.toml").read_text()
    assert "AMD EPYC" in hw and "1970-01-01T00:00:09Z" in hw
    assert (out / "pylock.toml").read_bytes() == before["pylock.toml"][1]
    assert _stat(out / "pylock.toml") == before["pylock.toml"][0]
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in files]  # no temp file left


def test_capture_without_numerics_loads_no_numerics_module(tmp_path: Path) -> None:
    """The numerics battery, its reader and writer are imported only with --numerics: a plain
    capture (the path run before every job) pays for none of them."""
    import os

    from tests.fakes.imports import loaded

    out = tmp_path / "cap"
    run = (
        "import contextlib, io, envsnap.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    envsnap.cli.main(['capture', '--offline', '-q', '-o', {str(out)!r}])\n"
    )
    env = {**os.environ, "ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
    names = ("envsnap.numerics", "envsnap.formats.numerics")
    assert loaded(run, names, env=env) == []
    assert (out / "pylock.toml").is_file()


def test_capture_runs_git_status_without_the_subprocess_module(tmp_path: Path) -> None:
    """The one `git status` of a capture starts through posix_spawn: `subprocess` (with
    threading, selectors, signal and locale) is not imported on the path run before every job."""
    import os

    from tests.fakes.imports import loaded
    from tests.fakes.projects import git

    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print('hi')\n")
    git(project, "init", "-q")
    git(project, "add", "train.py")
    git(project, "commit", "-q", "-m", "one")
    out = tmp_path / "cap"
    run = (
        "import io, sys, envsnap.cli\n"
        "sys.stdout = io.StringIO()\n"
        f"envsnap.cli.main(['capture', '--offline', '-q', '-o', {str(out)!r},"
        f" '--project', {str(project)!r}])\n"
        "sys.stdout = sys.__stdout__\n"
    )
    env = {**os.environ, "ENVSNAP_CACHE_DIR": str(tmp_path / "cache")}
    names = ("subprocess", "threading", "selectors", "signal", "locale", "importlib", "contextlib")
    assert loaded(run, names, env=env) == []
    # a repeat reads its caches with envsnap._jsonfast: no json module (asserted in the run,
    # before the harness imports json to answer)
    assert loaded(run + "assert 'json' not in sys.modules\n", names, env=env) == []
    recorded = tomllib.loads((out / "project.toml").read_text())
    assert git(project, "rev-parse", "HEAD") in json.dumps(recorded)  # git did run
