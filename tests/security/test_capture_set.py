"""Issue #9, attacks 10-12: the capture written is the environment asked for, as one whole set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tomllib

from envsnap.formats.condalock import HEADER
from tests.conftest import ROOT, run_envsnap
from tests.fakes.sitepackages import write_dist_info
from tests.fakes.venvs import make_venv, site_packages
from tests.security.conftest import offline_env


def _names(capture: Path) -> set[str]:
    lock = tomllib.loads((capture / "pylock.toml").read_text())
    return {p["name"] for p in lock["tool"]["envsnap"].get("unhashed", [])} | {
        p["name"] for p in lock["packages"]
    }


def _forged_venv(root: Path, name: str) -> Path:
    python = make_venv(root)
    write_dist_info(site_packages(python), name, "1.0")
    return python


def test_relative_python_is_this_folders_not_one_on_path(tmp_path: Path) -> None:
    python = _forged_venv(tmp_path / "venv", "only-in-this-venv")
    env = offline_env(tmp_path)
    out = tmp_path / "cap"
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", "./python", "-o", str(out),
        env=env, cwd=python.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "only-in-this-venv" in _names(out)
    # the answer is cached under the absolute path, and it is the right one
    again = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", str(tmp_path / "cap2"),
        env=env,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "only-in-this-venv" in _names(tmp_path / "cap2")
    checked = run_envsnap("check", str(out), "--python", "./python", env=env, cwd=python.parent)
    assert "only-in-this-venv" not in checked.stdout, checked.stdout  # same env: no finding


def test_a_file_of_another_kind_of_environment_is_removed(
    tmp_path: Path, venv: tuple[Path, Path]
) -> None:
    python, _ = venv
    out = tmp_path / "cap"
    out.mkdir()
    # left by an earlier capture of a conda prefix (envsnap's header: envsnap's to remove)
    (out / "conda-lock.yml").write_text(f"{HEADER}\nversion: 1\nmetadata: {{}}\npackage: []\n")
    (out / "notes.md").write_text("mine\n")
    (out / "image.toml").write_text("# a rebuild's record\n")
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", str(out),
        env=offline_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".envsnap",
        "hardware.toml",
        "image.toml",
        "notes.md",
        "project.toml",
        "pylock.toml",
        "requirements.txt",
    ]


def test_killed_captures_leave_nothing_behind_after_the_next_run(
    tmp_path: Path, venv: tuple[Path, Path]
) -> None:
    python, _ = venv
    out = tmp_path / "cap"
    out.mkdir()
    dead = 2**22 + 12345  # above any pid_max: no such process
    (out / f".pylock.toml.{dead}.0123456789abcdef.tmp").write_text("half")
    beside = tmp_path / f".cap.envsnap-{dead}-0123456789abcdef.tmp"
    beside.mkdir()
    (beside / "pylock.toml").write_text("half")
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(python), "-o", str(out),
        env=offline_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not beside.exists()
    assert sorted(p.name for p in out.iterdir()) == [
        ".envsnap",
        "hardware.toml",
        "project.toml",
        "pylock.toml",
        "requirements.txt",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cap.")]


def test_concurrent_captures_never_mix_their_sets(tmp_path: Path) -> None:
    pythons = {n: _forged_venv(tmp_path / f"venv-{n}", n) for n in ("alpha-pkg", "beta-pkg")}
    out = tmp_path / "cap"
    env = {**os.environ, "PYTHONPATH": str(ROOT), **offline_env(tmp_path)}
    for _ in range(12):  # the old per-file writes mixed the sets in some rounds, not all
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "envsnap",
                    "capture",
                    "--offline",
                    "-q",
                    "--python",
                    str(py),
                    "-o",
                    str(out),
                ],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for py in pythons.values()
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        lock = _names(out)
        requirements = (out / "requirements.txt").read_text()
        assert len(lock & set(pythons)) == 1, lock
        [winner] = lock & set(pythons)
        loser = next(n for n in pythons if n != winner)
        assert winner in requirements and loser not in requirements
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
