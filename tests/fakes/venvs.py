"""Real venvs for the tests: made by this interpreter, filled by this interpreter's pip.

The venvs that many tests share (torch, numpy, ray), made once and kept, are the fixtures of
tests/fakes/cachedvenvs.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def make_venv(path: Path, *, pip: bool = False) -> Path:
    """Create a venv at *path*, without pip unless *pip*, and return its python."""
    args = [sys.executable, "-m", "venv", str(path)]
    subprocess.run(args if pip else [*args, "--without-pip"], check=True)
    return path / "bin" / "python"


def pip_install(
    python: Path, *args: str, env: dict[str, str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """`pip install -q *args` into *python*'s environment, run by this interpreter's pip.

    *env*, when given, is pip's whole environment. The output is captured; a failed install
    raises AssertionError with pip's stderr, so the failing test says why.
    """
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"pip install {' '.join(args)} failed:\n{done.stderr}")
    return done


def index_unavailable(*requirements: str) -> str | None:
    """Why pip cannot fetch *requirements* from its configured index now, or None when it can.

    Tests marked ``network`` skip with this reason instead of failing offline.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="envsnap-index-probe-") as tmp:
        args = ["download", "-q", "--no-deps", "--timeout", "10", "-d", tmp, *requirements]
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", *args],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"pip's index did not answer for {' '.join(requirements)}"
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return f"pip cannot fetch {' '.join(requirements)} from its index: {last}"


def site_packages(python: Path) -> Path:
    """The purelib folder of *python*, as that interpreter reports it."""
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())
