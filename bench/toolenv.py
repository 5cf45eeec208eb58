"""envsnap as a user gets it: a wheel of this tree installed into <home>/tool-venv.

The dev venv holds envsnap as an editable install, whose import hook costs every start 10-25
ms that no user of a non-editable `pip install .` pays; the bench times the installed tool instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

__all__ = ["ensure_tool_env"]


def _run(argv: list[str]) -> str | None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


def ensure_tool_env(home: Path, root: Path, dev_python: str) -> tuple[list[str], str] | str:
    """Install this tree (not editable) and its dependencies; return (envsnap argv, python).

    Returns why not, as text, when it cannot be installed. envsnap itself is reinstalled on
    every run (a few seconds), its dependencies (with the docker extra) only when the venv is
    new.
    """
    venv = home / "tool-venv"
    python = venv / "bin" / "python"
    pip = [dev_python, "-m", "pip", "--python", str(python), "install", "-q"]
    if python.exists() and not (venv / "bin" / "pip3").exists():
        # rebuild runs this venv's pip to build local packages, as a `pip install` user's has
        why = _run([str(python), "-m", "ensurepip"])
        if why:
            return f"tool venv: {why}"
    if not python.exists():
        why = _run([sys.executable, "-m", "venv", str(venv)])
        project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
        # with the docker extra: the bench's image section runs rebuild (imported lazily)
        deps = [*project["dependencies"], *project["optional-dependencies"]["docker"]]
        why = why or _run([*pip, *deps])
        if why:
            return f"tool venv: {why}"
    why = _run([*pip, "--no-deps", "--force-reinstall", str(root)])
    if why:
        return f"installing envsnap: {why}"
    return [str(venv / "bin" / "envsnap")], str(python)
