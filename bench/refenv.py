"""Build (once) and cache the benchmark's environments under .bench/.

The reference environment is a venv of about 40 distributions: torch (CPU wheel from the
find-links folder pip is configured with), numpy, scipy, pandas, scikit-learn, requests and a
few more, plus an editable local package and one installed from a local git repository. It is
rebuilt only when missing or when its specification below changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gen_site import generate

__all__ = [
    "REFERENCE_REQUIREMENTS",
    "SMALL_PACKAGE",
    "bin_python",
    "ensure_generated_env",
    "ensure_project",
    "ensure_reference_env",
    "pip_index_unreachable",
    "site_packages",
]

# Top-level requirements of the reference environment; their dependencies bring it to ~40.
REFERENCE_REQUIREMENTS = (
    "torch==2.13.0",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "requests",
    "matplotlib",
    "pyyaml",
    "tqdm",
    "click",
    "attrs",
)
# A small leaf package whose version the Docker section changes (pinned so that it can).
SMALL_PACKAGE = ("tabulate", "0.9.0", "0.8.10")
PIP_SPEC = "pip>=26"

_LOCAL_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "envsnap benchmark fixture"
"""


def bin_python(venv: Path) -> Path:
    """Return the interpreter of *venv*."""
    return venv / "bin" / "python"


def site_packages(venv: Path) -> Path:
    """Return the site-packages folder of *venv* (POSIX layout)."""
    matches = sorted((venv / "lib").glob("python3*/site-packages"))
    if not matches:
        raise FileNotFoundError(f"{venv}: no lib/python3*/site-packages")
    return matches[0]


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def _spec_digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _is_current(venv: Path, digest: str) -> bool:
    marker = venv / ".bench-complete"
    return marker.is_file() and marker.read_text().strip() == digest


def _make_venv(venv: Path, *, with_pip: bool = True) -> None:
    if venv.exists():
        _run(["rm", "-rf", str(venv)])
    cmd = [sys.executable, "-m", "venv", str(venv)]
    if not with_pip:
        cmd.insert(3, "--without-pip")
    _run(cmd)
    if with_pip:
        # The baseline is today's pip: ensurepip's bundled one is older and slower.
        _run([str(bin_python(venv)), "-m", "pip", "install", "-q", "--upgrade", PIP_SPEC])


def _write_project(root: Path, name: str, version: str) -> None:
    pkg = root / name.replace("-", "_")
    pkg.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(_LOCAL_PYPROJECT.format(name=name, version=version))
    (pkg / "__init__.py").write_text(
        f'"""{name}: benchmark fixture."""\n__version__ = "{version}"\n'
    )


def _git_project(root: Path) -> Path:
    if root.exists():
        _run(["rm", "-rf", str(root)])
    _write_project(root, "bench-gitpkg", "0.2.0")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    _run([*git, "init", "-q", str(root)])
    _run([*git, "add", "-A"], cwd=root)
    _run([*git, "commit", "-q", "-m", "fixture"], cwd=root)
    return root


def ensure_reference_env(root: Path, log: bool = True) -> tuple[Path, float]:
    """Return (venv, seconds spent building it: 0 when cached) of the reference environment."""
    venv = root / "ref-venv"
    small = f"{SMALL_PACKAGE[0]}=={SMALL_PACKAGE[1]}"
    digest = _spec_digest(*REFERENCE_REQUIREMENTS, small, PIP_SPEC, "editable", "git", "v1")
    if _is_current(venv, digest):
        return venv, 0.0
    start = time.perf_counter()
    if log:
        print(f"building the reference environment in {venv} (once; takes a minute or two)")
    _make_venv(venv)
    py = str(bin_python(venv))
    pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, *REFERENCE_REQUIREMENTS, small])
    local = root / "src" / "bench-localpkg"
    _write_project(local, "bench-localpkg", "0.1.0")
    _run([*pip, "-e", str(local)])
    gitrepo = _git_project(root / "src" / "bench-gitpkg")
    _run([*pip, f"git+file://{gitrepo}"])
    (venv / ".bench-complete").write_text(digest + "\n")
    return venv, time.perf_counter() - start


def pip_index_unreachable(timeout: float = 5.0) -> str | None:
    """Return why pip's index cannot be reached (None when it answers)."""
    index = os.environ.get("PIP_INDEX_URL", "")
    if not index:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
            capture_output=True,
            text=True,
            check=False,
        )
        index = proc.stdout.strip() if proc.returncode == 0 else ""
    index = (index or "https://pypi.org/simple/").rstrip("/")
    if not index.startswith(("https://", "http://")):
        return None
    try:
        with urllib.request.urlopen(f"{index}/pip/", timeout=timeout):  # noqa: S310 (pip's index)
            return None
    except (OSError, ValueError) as exc:
        return f"index {index} not reachable ({exc})"


PROJECT_FILES = 200  # the size of a small ML project: what `git status` walks
PROJECT_REMOTE = "https://bench:TOKEN@example.invalid/team/project.git"


def ensure_project(root: Path) -> Path:
    """A clean git checkout of a small project with an ``origin`` remote, the folder the bench
    captures from (``--project``): the capture's git probe sees the same tree on every run,
    whatever state the envsnap checkout is in."""
    project, done = root / "project", root / "project.done"
    digest = _spec_digest(str(PROJECT_FILES), PROJECT_REMOTE, "project-v1")
    if done.is_file() and done.read_text().strip() == digest and (project / ".git").is_dir():
        return project
    if project.exists():
        _run(["rm", "-rf", str(project)])
    for i in range(PROJECT_FILES):
        folder = project / "src" / f"pkg{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"# module {i}\nVALUE = {i}\n" * 20)
    (project / "train.py").write_text("import src\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    _run([*git, "init", "-q", str(project)])
    _run([*git, "remote", "add", "origin", PROJECT_REMOTE], cwd=project)
    _run([*git, "add", "-A"], cwd=project)
    _run([*git, "commit", "-q", "-m", "project"], cwd=project)
    done.write_text(digest + "\n")
    return project


def ensure_generated_env(root: Path, count: int) -> Path:
    """Return a venv (with pip) whose site-packages also holds *count* generated dist-infos."""
    venv = root / f"gen-{count}-venv"
    digest = _spec_digest(str(count), PIP_SPEC, "gen-v1")
    if _is_current(venv, digest):
        return venv
    _make_venv(venv)
    generate(site_packages(venv), count)
    (venv / ".bench-complete").write_text(digest + "\n")
    return venv


def distribution_count(venv: Path) -> int:
    """Count the *.dist-info folders in *venv*'s site-packages."""
    return sum(1 for _ in site_packages(venv).glob("*.dist-info"))


def installed_bytes(venv: Path) -> int:
    """Sum the sizes of every file under *venv*'s site-packages (what an image must hold)."""
    total = 0
    for path in site_packages(venv).rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


if __name__ == "__main__":
    ref, spent = ensure_reference_env(Path(".bench").resolve())
    print(
        json.dumps({"venv": str(ref), "build_s": round(spent, 1), "dists": distribution_count(ref)})
    )
