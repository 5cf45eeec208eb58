"""`envsnap capture --json`: the summary counts each distribution once."""

from __future__ import annotations

import json
from pathlib import Path

import tomllib


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
