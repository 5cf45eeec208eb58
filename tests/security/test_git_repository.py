"""Issue #17, class 2: `capture` in a stranger's checkout runs none of the repository's code.

Each test makes a real repository as an archive or a shared folder would bring it: its own
`.git/config` (or a file it includes) names a program, and that program would leave a marker
file. The real git runs through `envsnap.probes.git`, or the real `envsnap capture` in the
folder; the marker must not appear, and the state must still be recorded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from envsnap.probes import git as git_probe
from tests.conftest import run_envsnap
from tests.fakes.projects import git as sh
from tests.fakes.venvs import make_venv
from tests.security.conftest import offline_env

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def program(path: Path, marker: Path) -> str:
    """A script that leaves *marker* and otherwise behaves (copies its input through)."""
    path.write_text(f'#!/bin/sh\ntouch "{marker}"\ncat "$@" 2>/dev/null || cat\n')
    path.chmod(0o755)
    return str(path)


def checkout(root: Path) -> Path:
    """A repository with one commit, then one tracked file changed and one file touched (an
    archive's files all have other stat data than the index says)."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    sh(repo, "init", "-q")
    (repo / "a.txt").write_text("a\n")
    (repo / "b.txt").write_text("b\n")
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    sh(repo, "add", ".")
    sh(repo, "commit", "-q", "-m", "one")
    (repo / "a.txt").write_text("a changed\n")
    os.utime(repo / "b.txt", (1, 1))
    return repo


def config(repo: Path, text: str) -> None:
    with (repo / ".git" / "config").open("a") as fh:
        fh.write(text)


Attack = Callable[[Path, Path], None]


def _hook(repo: Path, marker: Path) -> None:
    hook = repo / ".git" / "hooks" / "post-index-change"
    hook.parent.mkdir(exist_ok=True)
    program(hook, marker)


def _fsmonitor(repo: Path, marker: Path) -> None:
    config(repo, f"[core]\n\tfsmonitor = {program(repo.parent / 'fsmonitor', marker)}\n")


def _textconv(repo: Path, marker: Path) -> None:
    config(repo, f'[diff "evil"]\n\ttextconv = {program(repo.parent / "textconv", marker)}\n')


def _filter(repo: Path, marker: Path) -> None:
    clean = program(repo.parent / "clean", marker)
    config(repo, f'[filter "evil"]\n\tclean = {clean}\n\tprocess = {clean}\n\trequired\n')


def _include(repo: Path, marker: Path) -> None:
    # Everything arrives through a file the config includes, as a shared folder could hold it.
    included = repo.parent / "shared.cfg"
    fsmonitor = program(repo.parent / "fsmonitor", marker)
    clean = program(repo.parent / "clean", marker)
    included.write_text(f'[core]\n\tfsmonitor = {fsmonitor}\n[filter "evil"]\n\tclean = {clean}\n')
    config(repo, '[include]\n\tpath = "../../shared.cfg" ; a comment\n')


def _include_if(repo: Path, marker: Path) -> None:
    nested = repo / ".git" / "more.cfg"
    clean = program(repo.parent / "clean", marker)
    nested.write_text(f"[filter.evil]\n\tclean = {clean}\n")
    config(repo, f'[includeIf "gitdir:{repo}/"]\n\tpath = more.cfg\n')


def _external_diff(repo: Path, marker: Path) -> None:
    ext = program(repo.parent / "extdiff", marker)
    config(repo, f'[diff]\n\texternal = {ext}\n[diff "evil"]\n\tcommand = {ext}\n')


def _pager(repo: Path, marker: Path) -> None:
    config(repo, f"[core]\n\tpager = {program(repo.parent / 'pager', marker)}\n")


ATTACKS: dict[str, Attack] = {
    "post-index-change hook": _hook,
    "core.fsmonitor": _fsmonitor,
    "diff textconv": _textconv,
    "filter clean and process": _filter,
    "include.path": _include,
    "includeIf": _include_if,
    "external diff": _external_diff,
    "pager": _pager,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_git_probe_runs_none_of_the_repositorys_programs(tmp_path: Path, attack: str) -> None:
    repo = checkout(tmp_path)
    marker = tmp_path / "RAN"
    ATTACKS[attack](repo, marker)
    state = git_probe.probe(repo)
    assert not marker.exists(), f"{attack}: the repository's program ran"
    assert (state.status, state.dirty) == ("ok", True), state
    assert state.changed_files == 1 and len(state.diff_sha256) == 64


def test_the_digest_is_the_same_with_and_without_the_repositorys_programs(tmp_path: Path) -> None:
    """Turning the programs off changes nothing envsnap records: the same tree, the same state."""
    plain = git_probe.probe(checkout(tmp_path / "plain"))
    hostile_root = tmp_path / "hostile"
    repo = checkout(hostile_root)
    for attack in ATTACKS.values():
        attack(repo, tmp_path / "RAN")
    hostile = git_probe.probe(repo)
    assert not (tmp_path / "RAN").exists()
    assert (hostile.changed_files, hostile.diff_sha256) == (plain.changed_files, plain.diff_sha256)


def test_capture_in_a_hostile_checkout_records_it_and_runs_nothing(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    marker = tmp_path / "RAN"
    for attack in ATTACKS.values():
        attack(repo, marker)
    python = make_venv(tmp_path / "venv")
    out = tmp_path / "cap"
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", str(out),
        env=offline_env(tmp_path), cwd=repo,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    text = (out / "project.toml").read_text()
    assert "dirty = true" in text and "changed-files = 1" in text


def test_a_config_git_could_hang_on_is_not_read_and_git_is_not_run(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    fifo = tmp_path / "fifo.cfg"
    os.mkfifo(fifo)
    config(repo, f"[include]\n\tpath = {fifo}\n")
    state = git_probe.probe(repo)
    assert state.status == "unavailable"
    assert "cannot be read safely" in state.reason


def test_a_submodules_own_filter_does_not_run_either(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    sh(inner, "init", "-q")
    (inner / "x.txt").write_text("x\n")
    (inner / ".gitattributes").write_text("* filter=sub\n")
    sh(inner, "add", ".")
    sh(inner, "commit", "-q", "-m", "inner")
    repo = checkout(tmp_path / "outer")
    sh(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "sub")
    sh(repo, "commit", "-q", "-m", "with sub")
    marker = tmp_path / "RAN"
    clean = program(tmp_path / "clean", marker)
    with (repo / ".git" / "modules" / "sub" / "config").open("a") as fh:
        fh.write(f'[filter "sub"]\n\tclean = {clean}\n')
    os.utime(repo / "sub" / "x.txt", (1, 1))  # stat data the submodule's index does not know
    state = git_probe.probe(repo)
    assert not marker.exists(), "the submodule's filter ran"
    assert state.status == "ok"
