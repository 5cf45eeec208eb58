"""Issue #17, class 4: reading a hostile capture or node report never hangs, explodes or aborts.

Every verb reads a capture through one door (`envsnap.formats.capture.load`): regular files
only, bounded in size and nesting, YAML aliases refused, one line naming the file. Each test
runs the real CLI in a watched child process (`tests.fakes.limits`): its peak memory is
measured, a hang is killed after a time-out, and an address-space limit keeps a file that
would take gigabytes from taking them here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import envsnap
from envsnap.errors import InputError
from envsnap.formats import project
from tests.fakes.fleetreports import write_fleet
from tests.fakes.limits import Measured, run_measured
from tests.security.conftest import offline_env

MAX_RSS_MB = 200
# 501 bytes of YAML whose aliases expand to 9**9 strings (gigabytes once printed).
ALIAS_BOMB = """\
version: 1
metadata: {platforms: [linux-64], channels: []}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
package:
- {name: x, version: "1", manager: conda, platform: linux-64, url: *i, hash: {}, build: b}
"""


def _one_error(done: Measured, *names: str) -> str:
    """The run ended by itself with exit 2 and one error line naming *names*; that line."""
    assert not done.timed_out, f"hung: {done.stderr[-2000:]}"
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "ENVSNAP_DEBUG" not in done.stderr, done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("envsnap: error: ")]
    assert len(errors) == 1, done.stderr
    assert all(name in errors[0] for name in names), errors[0]
    return errors[0]


def test_a_fifo_as_project_toml_hangs_neither_report_nor_log(
    capture_copy: Path, tmp_path: Path
) -> None:
    (capture_copy / "project.toml").unlink()
    os.mkfifo(capture_copy / "project.toml")
    env = offline_env(tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")
    report = run_measured(
        ["report", str(capture_copy), "-o", str(tmp_path / "R.md")], env=env, timeout=60
    )
    assert "not a regular file" in _one_error(report, "project.toml")
    logged = run_measured(["log", str(capture_copy), "--mlflow"], env=env, timeout=60)
    assert "not a regular file" in _one_error(logged, "project.toml")
    assert not (tmp_path / "R.md").exists()


def test_a_symlinked_project_toml_is_not_read_through(capture_copy: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "private" / "project.toml"
    elsewhere.parent.mkdir()
    secret = project.ProjectState(status="unavailable", reason="SECRET")
    elsewhere.write_text(project.render(secret))
    (capture_copy / "project.toml").unlink()
    (capture_copy / "project.toml").symlink_to(elsewhere)
    out = tmp_path / "R.md"
    done = run_measured(["report", str(capture_copy), "-o", str(out)], env=offline_env(tmp_path))
    assert "symbolic link" in _one_error(done, "project.toml")
    assert not out.exists() and "SECRET" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "verb",
    [
        ["check", "{cap}"],
        ["diff", "{cap}", "{cap}"],
        ["report", "{cap}", "-o", "{tmp}/R.md"],
        ["rebuild", "{cap}", "--no-build", "--context", "{tmp}/ctx"],
    ],
    ids=["check", "diff", "report", "rebuild"],
)
def test_a_yaml_alias_bomb_is_refused_in_bounded_memory(
    capture_copy: Path, tmp_path: Path, verb: list[str]
) -> None:
    pytest.importorskip("yaml")
    (capture_copy / "conda-lock.yml").write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB.encode()) < 700
    argv = [a.format(cap=capture_copy, tmp=tmp_path) for a in verb]
    done = run_measured(argv, env=offline_env(tmp_path), timeout=180)
    assert "YAML aliases are not accepted" in _one_error(done, "conda-lock.yml")
    assert done.max_rss_mb < MAX_RSS_MB, done.max_rss_mb


def test_check_save_refuses_a_symlinked_huge_numerics_toml(
    capture_copy: Path, tmp_path: Path
) -> None:
    huge = tmp_path / "elsewhere.toml"
    with huge.open("wb") as fh:
        fh.truncate(300 << 20)  # sparse: 300 MB of zeros that take no disk
    (capture_copy / "numerics.toml").symlink_to(huge)
    reports = tmp_path / "reports"
    done = run_measured(
        ["check", str(capture_copy), "--save", str(reports)], env=offline_env(tmp_path)
    )
    assert "symbolic link" in _one_error(done, "numerics.toml")
    assert done.max_rss_mb < MAX_RSS_MB, done.max_rss_mb
    assert not reports.exists() or not list(reports.iterdir())


def test_a_deep_numerics_toml_is_one_input_error_in_the_api(
    capture_copy: Path, tmp_path: Path
) -> None:
    deep = 'version = 1\nbattery-version = "1"\nx = ' + "[" * 5000 + "]" * 5000 + "\n"
    (capture_copy / "numerics.toml").write_text(deep)
    with pytest.raises(InputError, match=r"numerics\.toml: not valid TOML \(nested too deeply\)"):
        envsnap.diff(capture_copy, capture_copy)


def test_a_deep_or_fifo_node_report_is_one_skipped_line_and_the_table_prints(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    write_fleet(reports, 3)
    (reports / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (reports / "nested.json").write_text('{"kind": "envsnap-node-report", "x": ' + "[" * 50_000)
    os.mkfifo(reports / "fifo.json")
    with (reports / "huge.json").open("wb") as fh:
        fh.truncate(64 << 20)
    done = run_measured(["fleet", str(reports)], timeout=60)
    assert not done.timed_out, "fleet hung on a FIFO report"
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "ENVSNAP_DEBUG" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert any(ln.startswith("NODE") for ln in lines), done.stdout  # the table printed
    for name, why in (
        ("deep.json", "nested too deeply"),
        ("nested.json", "truncated"),
        ("fifo.json", "not a regular file"),
        ("huge.json", "larger than"),
    ):
        line = next((ln for ln in lines if ln.startswith(f"skipped {reports}/{name}: ")), "")
        assert why in line, (name, done.stdout)
    assert lines[-1].endswith("4 report file(s) unreadable"), lines[-1]
    assert done.max_rss_mb < MAX_RSS_MB, done.max_rss_mb
