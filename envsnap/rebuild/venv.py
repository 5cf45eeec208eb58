"""`envsnap rebuild --venv PATH`: rebuild a capture into a virtualenv instead of an image.

The venv gets exactly the locked packages (hashes required, no resolution), layer by layer as in
the image, with uv when it is on PATH and pip otherwise. The interpreter must be the recorded
Python to the patch version; otherwise the command refuses and names the ``--python`` to use.

The venv is made in a temporary folder beside PATH (``.NAME.envsnap-…``) and moved to PATH only
when complete, so an interrupted or failed rebuild leaves no half-built venv behind. A venv
records its own path (the scripts' ``#!`` lines, ``activate``): those are rewritten to PATH before
the move. The temporary path is longer than PATH, so a ``#!`` line that fitted still fits. A
temporary folder left by a killed run (its process gone) is removed by the next run.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .. import _subprocess
from .._io import refuse_link
from .._record import replace
from .._regex import lazy
from .._subprocess import run, which
from .._text import plural
from ..errors import BuildError, InputError
from ..model import Environment
from ..render.plan import Install, layers_for, plan_layers
from .context import write_packages
from .inputs import require_installable
from .result import VenvBuilt

__all__ = [
    "BUILDING",
    "alive",
    "build_venv",
    "find_python",
    "install_packages",
    "python_version",
    "rebuild_venv",
]

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
            # .pyc files would name the temporary path: Python writes them on first import
            "--no-compile",
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


def _direct(item: Install, folders: Mapping[str, Path]) -> list[str]:
    """Install arguments for a local or VCS package, as it was installed (same provenance)."""
    pkg = item.package
    if pkg.source == "vcs":
        assert pkg.url is not None and pkg.commit_id is not None
        url = pkg.url if pkg.url.startswith("git+") else f"git+{pkg.url}"
        sub = f"#subdirectory={pkg.subdirectory}" if pkg.subdirectory else ""
        return [f"{item.name} @ {url}@{pkg.commit_id}{sub}"]
    path = str(folders[item.name])
    return ["-e", path] if pkg.source == "editable" else [path]


def _install(args: list[str], what: str, venv: Path, ca_cert: Path | None) -> None:
    from ..engine.events import meaningful

    done = run(args, timeout=TIMEOUT_S, env=_env(ca_cert))
    if not done.ok:
        lines = meaningful(tuple(ln for ln in done.stderr.strip().splitlines() if ln.strip()))
        raise BuildError(
            f"{venv}: installing {what} failed", details=lines or ("no output",), exit_code=1
        )


_TEMP = lazy(r"\.(?P<name>.+)\.envsnap-[0-9a-f]{16}")
BUILDING = ".envsnap-building"


def _check_target(venv: Path) -> None:
    refuse_link(venv, "--venv")
    if venv.exists() and (not venv.is_dir() or any(venv.iterdir())):
        raise InputError(
            f"{venv}: --venv exists and is not empty",
            hint=f"remove it first (rm -rf {shlex.quote(str(venv))}) or choose another --venv "
            "PATH; an interrupted rebuild leaves nothing there",
        )


def _clear_leftovers(venv: Path) -> None:
    """Remove the temporary folders of earlier runs for *venv* whose process is gone."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(venv.parent):
            m = _TEMP.fullmatch(entry.name)
            if not m or m["name"] != venv.name or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                pid = int((Path(entry.path) / BUILDING).read_text().strip())
            except (OSError, ValueError):
                continue  # not ours
            if not alive(pid):
                shutil.rmtree(entry.path, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def relocate(tmp: Path, final: Path) -> None:
    """Rewrite the venv *tmp*'s own path to *final* where a venv records it: the scripts in
    ``bin/`` (``#!`` lines, ``activate``), links there, and ``pyvenv.cfg``."""
    old, new = os.fsencode(tmp), os.fsencode(final)
    paths = [tmp / "pyvenv.cfg"]
    with contextlib.suppress(OSError):
        paths += [Path(e.path) for e in os.scandir(tmp / "bin")]
    for path in paths:
        if path.is_symlink():
            link = os.fsencode(path.readlink())
            if link.startswith(old):
                path.unlink()
                path.symlink_to(os.fsdecode(new + link[len(old) :]))
            continue
        if not path.is_file():
            continue
        data = path.read_bytes()
        if old in data:
            mode = path.stat().st_mode
            path.write_bytes(data.replace(old, new))
            path.chmod(mode)


def rebuild_venv(
    env: Environment,
    capture_dir: Path,
    venv: str | Path,
    *,
    python: str | None,
    ca_cert: Path | None,
    say: Callable[[str], None],
    build_on_host: Iterable[str],
    allow_missing: bool,
) -> VenvBuilt:
    """Rebuild *env* into the virtualenv *venv*; see `envsnap.rebuild.rebuild`.

    A lock with packages no install can reproduce is refused unless *allow_missing*; a local
    folder, VCS commit or sdist is built here only when it is trusted (`trusted_folders`).
    """
    from .trust import trusted_folders

    layout = plan_layers(env)
    lock = capture_dir / "pylock.toml"
    require_installable(layout.skipped, len(env.packages), lock, allow_missing=allow_missing)
    folders = trusted_folders(layout.installs, env, capture_dir, build_on_host, venv=True, say=say)
    names = build_venv(
        env, capture_dir, Path(venv), python=python, ca_cert=ca_cert, progress=say, folders=folders
    )
    return VenvBuilt(venv=str(venv), installed=names, skipped=layout.skipped)


def build_venv(
    env: Environment,
    capture_dir: Path,
    venv: Path,
    *,
    python: str | None = None,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
    folders: Mapping[str, Path] | None = None,
) -> tuple[str, ...]:
    """Create *venv* holding exactly the packages locked in *env*; return the installed names.

    Index and archive packages are installed by hash; local folders, editables and VCS commits
    are installed from where the lock says they are (editables stay editable), so that a
    capture of the venv records the same sources. *folders* are the local folders the user
    trusts (`envsnap.rebuild.trust.trusted_folders`). The venv appears at *venv* complete, or
    not at all.
    """
    say = progress or (lambda _m: None)
    interpreter = _subprocess.interpreter(python) if python else sys.executable
    _check_python(interpreter, env.python.version)
    venv = venv.absolute()
    _check_target(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(venv)
    build = venv.parent / f".{venv.name}.envsnap-{os.urandom(8).hex()}"
    create, _ = _installer(build)

    def make() -> None:
        say(f"creating {venv} with {interpreter}")
        _create(create, interpreter, build)
        (build / BUILDING).write_text(f"{os.getpid()}\n")

    try:
        names = install_packages(
            env, capture_dir, build, venv, make, ca_cert=ca_cert, say=say, folders=folders
        )
        relocate(build, venv)
        (build / BUILDING).unlink()
        _check_target(venv)  # made meanwhile by someone else: keep theirs
        build.rename(venv)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return names


def install_packages(
    env: Environment,
    capture_dir: Path,
    where: Path,
    shown: Path,
    make: Callable[[], None],
    *,
    ca_cert: Path | None,
    say: Callable[[str], None],
    folders: Mapping[str, Path] | None,
) -> tuple[str, ...]:
    """Fetch the locked PyPI packages of *env* (hash-checked), call *make* to create the
    environment at *where* (a venv, or a conda prefix with its conda packages linked), then
    install them into its ``bin/python`` layer by layer; *shown* names it in messages. Returns
    the installed names. Shared by ``rebuild --venv`` and ``rebuild --prefix``."""
    full = plan_layers(env)
    locked = [i for i in full.installs if i.how != "source"]
    direct = [i for i in full.installs if i.how == "source"]
    plan = replace(full, installs=tuple(locked), layers=layers_for(locked, False))
    _, install = _installer(where)
    with tempfile.TemporaryDirectory(prefix="envsnap-venv-") as tmp:
        work = Path(tmp)
        write_packages(
            env,
            plan,
            capture_dir,
            work,
            ca_cert=ca_cert,
            progress=say,
            python_version=env.python.version,
        )
        make()
        for layer in plan.layers:
            args = [*install, "--require-hashes", "--no-deps"]
            if layer.no_index:
                args.append("--no-index")
            if layer.local:
                args += ["--find-links", str(work / layer.wheels)]
            args += ["-r", str(work / layer.requirements)]
            say(f"installing layer {layer.name} ({plural(len(layer.packages), 'package')})")
            _install(args, f"layer {layer.name}", shown, ca_cert)
        for item in direct:
            say(f"installing {item.name} {item.version} ({item.package.source})")
            args = [*install, "--no-deps", *_direct(item, folders or {})]
            _install(args, item.name, shown, ca_cert)
    return tuple(i.name for i in full.installs)
