"""Issue #9, attack 7: what check prints from a capture is quoted for the shell and escaped for
the terminal; JSON stays JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import run_envsnap
from tests.security.conftest import offline_env

FORGED = "envsnap: this machine matches the capture"
HOSTILE = (
    "\n[tool.envsnap.envvars]\n"
    'OMP_NUM_THREADS = "4 $(touch pwned)"\n'
    "\n[[tool.envsnap.unhashed]]\n"
    'name = "demo"\n'
    f'version = "1.0\\u001b]0;owned\\u0007\\u001b[2J\\r\\n{FORGED}"\n'
    'source = "index"\n'
)


def _hostile(capture: Path) -> None:
    lock = capture / "pylock.toml"
    lock.write_text(lock.read_text() + HOSTILE)


def _env(tmp_path: Path) -> dict[str, str]:
    env = offline_env(tmp_path)
    env["OMP_NUM_THREADS"] = ""  # run_envsnap merges: not the recorded value
    return env


def test_remedies_are_quoted_for_the_shell(capture_copy: Path, tmp_path: Path) -> None:
    _hostile(capture_copy)
    done = run_envsnap("check", str(capture_copy), env=_env(tmp_path))
    assert done.returncode == 1, done.stderr
    fixes = [ln.split("fix: ", 1)[1] for ln in done.stdout.splitlines() if "fix: " in ln]
    omp = [f for f in fixes if "OMP_NUM_THREADS" in f]
    assert omp == ["export OMP_NUM_THREADS='4 $(touch pwned)'"]
    pasted = tmp_path / "paste"
    pasted.mkdir()
    for fix in fixes:
        if fix.startswith(("export ", "pip install ")):
            # what a user pastes: the command before any explanation in parentheses
            line = fix.split(" (")[0] + " >/dev/null 2>&1; true"
            subprocess.run(["sh", "-c", line], cwd=pasted, check=True)
    assert not (pasted / "pwned").exists()


def test_the_text_report_escapes_control_characters(capture_copy: Path, tmp_path: Path) -> None:
    _hostile(capture_copy)
    done = run_envsnap("check", str(capture_copy), env=_env(tmp_path))
    assert done.returncode == 1, done.stderr
    for raw in ("\x1b", "\x07", "\r"):
        assert raw not in done.stdout
    assert not any(ln.startswith(FORGED) for ln in done.stdout.splitlines())
    assert "\\x1b]0;owned\\x07" in done.stdout  # shown, inert
    # JSON stays JSON: the exact recorded value, escaped by the JSON encoder only
    js = run_envsnap("check", str(capture_copy), "--json", env=_env(tmp_path))
    assert js.returncode == 1, js.stderr
    findings = json.loads(js.stdout)["findings"]
    versions = [f["expected"] for f in findings if "demo" in f["message"]]
    assert versions and versions[0].startswith("1.0\x1b]0;owned\x07")


def test_error_lines_are_escaped_too(tmp_path: Path) -> None:
    bad = tmp_path / "cap\x1b[2Jx"
    done = run_envsnap("check", str(bad), env=offline_env(tmp_path))
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\\x1b[2Jx" in done.stderr
