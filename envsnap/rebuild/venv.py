"""`envsnap rebuild --venv PATH`: rebuild a capture into a virtualenv instead of an image.

The venv gets exactly the locked packages (hashes required, no resolution), layer by layer as in
the image, with uv when it is on PATH and pip otherwise. The interpreter must be the recorded
Python to the patch version; otherwise the command refuses and names the ``--python`` to use.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import _subprocess
from .._io import refuse_link
from .._record import replace
from .._subprocess import run, which
from .._text import plural
from ..errors import BuildError, InputError
from ..model import Environment
from ..render.plan import Install, layers_for, plan_layers
from .context import write_packages
from .hostwheels import local_source

__all__ = ["find_python", "python_version", "rebuild_venv"]

TIMEOUT_S = 1800.0
_VERSION = "import platform; print(platform.python_version())"


def python_version(python: str) -> str | None:
    """Return the X.Y.Z version *python* reports, or None when it does not run."""
    done = run([python, "-c", _VERSION], timeout=30)
    return done.stdout.strip() if done.ok else None


def _candidates(version: str) -> list[str]:
    short = ".".join(version.split(".")[:2])
    names = [f"python{short}", "python3", "python"]
    found = [p for p in (which(n) for n in names) if p]
    found.append(str(Path.home() / ".pyenv" / "versions" / version / "bin" / "python"))
    uv = which("uv")
    if uv:
        done = run([uv, "python", "find", version], timeout=30)
        if done.ok and done.stdout.strip():
            found.append(done.stdout.strip())
    return found


def find_python(version: str) -> str | None:
    """Return an interpreter on this machine that is exactly Python *version*, or None."""
    for candidate in _candidates(version):
        if Path(candidate).exists() and python_version(candidate) == version:
            return candidate
    return None


def _check_python(python: str, recorded: str) -> None:
    got = python_version(python)
    if got is None:
        raise InputError(f"{python}: --python could not be run")
    if got == recorded:
        return
    other = find_python(recorded)
    hint = (
        f"rerun with --python {other}"
        if other
        else f"install Python {recorded} (e.g. `uv python install {recorded}`) and pass "
        f"--python with its path"
    )
    raise InputError(
        f"{python} is Python {got}, but the capture was made with Python {recorded}; "
        f"the venv must use exactly {recorded}",
        hint=hint,
    )


def _installer(venv: Path) -> tuple[list[str], list[str]]:
    """Return (create-venv command prefix, install command prefix) using uv or pip."""
    uv = which("uv") or (str(Path(sys.executable).with_name("uv")))
    if Path(uv).is_file() and os.access(uv, os.X_OK):
        return (
            [uv, "venv", "--quiet", "--no-config", "--python"],
            [uv, "pip", "install", "--no-config", "--python", str(venv / "bin" / "python")],
        )
    return (
        [],
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-cache-dir",
            "--no-input",
        ],
    )


def _env(ca_cert: Path | None) -> dict[str, str]:
    # uv trusts its own roots by default; behind a proxy CA the system store is the one to use.
    env = dict(os.environ, UV_SYSTEM_CERTS="1", UV_NATIVE_TLS="1")
    if ca_cert is not None:
        env.update(PIP_CERT=str(ca_cert), SSL_CERT_FILE=str(ca_cert))
    return env


def _create(create: list[str], python: str, venv: Path) -> None:
    args = (
        [*create, python, str(venv)]
        if create
        else [python, "-m", "venv", "--without-pip", str(venv)]
    )
    done = run(args, timeout=300)
    if not done.ok:
        raise BuildError(f"{venv}: creating the virtualenv failed ({done.stderr.strip()[-300:]})")


def _direct(item: Install, capture_dir: Path) -> list[str]:
    """Install arguments for a local or VCS package, as it was installed (same provenance)."""
    pkg = item.package
    if pkg.source == "vcs":
        assert pkg.url is not None and pkg.commit_id is not None
        url = pkg.url if pkg.url.startswith("git+") else f"git+{pkg.url}"
        sub = f"#subdirectory={pkg.subdirectory}" if pkg.subdirectory else ""
        return [f"{item.name} @ {url}@{pkg.commit_id}{sub}"]
    path = str(local_source(item, capture_dir))
    return ["-e", path] if pkg.source == "editable" else [path]


def _install(args: list[str], what: str, venv: Path, ca_cert: Path | None) -> None:
    done = run(args, timeout=TIMEOUT_S, env=_env(ca_cert))
    if not done.ok:
        # One line: the CLI escapes newlines in messages (data must not forge a line).
        tail = " | ".join(ln.strip() for ln in done.stderr.strip().splitlines()[-3:])
        raise BuildError(f"{venv}: installing {what} failed: {tail or 'no output'}")


def rebuild_venv(
    env: Environment,
    capture_dir: Path,
    venv: Path,
    *,
    python: str | None = None,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, ...]:
    """Create *venv* holding exactly the packages locked in *env*; return the installed names.

    Index and archive packages are installed by hash; local folders, editables and VCS commits
    are installed from where the lock says they are (editables stay editable), so that a
    capture of the venv records the same sources.
    """
    say = progress or (lambda _m: None)
    interpreter = _subprocess.interpreter(python) if python else sys.executable
    _check_python(interpreter, env.python.version)
    refuse_link(venv, "--venv")
    if venv.exists() and (not venv.is_dir() or any(venv.iterdir())):
        raise InputError(f"{venv}: --venv exists and is not empty")
    full = plan_layers(env)
    locked = [i for i in full.installs if i.how != "build"]
    direct = [i for i in full.installs if i.how == "build"]
    plan = replace(full, installs=tuple(locked), layers=layers_for(locked, False))
    create, install = _installer(venv)
    with tempfile.TemporaryDirectory(prefix="envsnap-venv-") as tmp:
        work = Path(tmp)
        write_packages(env, plan, capture_dir, work, ca_cert=ca_cert, progress=say)
        say(f"creating {venv} with {interpreter}")
        _create(create, interpreter, venv)
        for layer in plan.layers:
            args = [*install, "--require-hashes", "--no-deps"]
            if layer.no_index:
                args.append("--no-index")
            if layer.local:
                args += ["--find-links", str(work / layer.wheels)]
            args += ["-r", str(work / layer.requirements)]
            say(f"installing layer {layer.name} ({plural(len(layer.packages), 'package')})")
            _install(args, f"layer {layer.name}", venv, ca_cert)
        for item in direct:
            say(f"installing {item.name} {item.version} ({item.package.source})")
            _install([*install, "--no-deps", *_direct(item, capture_dir)], item.name, venv, ca_cert)
    return tuple(i.name for i in full.installs)
