"""Run code in a fresh interpreter that reads no ``.pth`` file, to see what *envsnap* imports.

The site module runs every ``.pth`` file in site-packages before ``-c`` code starts, and some
(editable installs, setuptools' distutils-precedence, coverage hooks) import modules of their own:
what they load is the host's, not envsnap's. ``python -S`` skips the site module; the source tree
and this interpreter's site-packages go on ``PYTHONPATH`` instead, which runs no ``.pth`` file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = ["loaded", "python_without_site"]

ROOT = Path(__file__).resolve().parents[2]


def python_without_site(env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """(argv prefix, environment) that start this interpreter without the site module."""
    paths = dict.fromkeys([str(ROOT), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    base = dict(os.environ if env is None else env)
    return [sys.executable, "-S"], {**base, "PYTHONPATH": os.pathsep.join(paths)}


def loaded(
    code: str,
    names: tuple[str, ...],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> list[str]:
    """The modules of *names* (or their submodules) in sys.modules after *code* runs."""
    script = (
        f"{code}\nimport sys as _sys, json as _json\n_names = {names!r}\n"
        "print(_json.dumps(sorted(m for m in _sys.modules "
        "if m in _names or m.split('.')[0] in _names)))"
    )
    argv, environ = python_without_site(env)
    done = subprocess.run(
        [*argv, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=environ,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout.splitlines()[-1])
    return result
