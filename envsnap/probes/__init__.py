"""Capture: read the running machine and a target interpreter into a `Snapshot`.

Each fact has its own probe module; probes never raise on missing hardware. This module only
assembles them and writes the files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..model import Environment, Hardware, Snapshot

TYPE_CHECKING = False  # `typing` costs ~4 ms of each start; mypy and ruff read this name
if TYPE_CHECKING:
    from ..formats.project import ProjectState

__all__ = ["capture", "write"]


def _now() -> str:
    # SOURCE_DATE_EPOCH makes the one time field reproducible too (reproducible-builds.org).
    # time, not datetime: this runs on the `check` path too, where every import counts.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def capture(
    python: str | None = None,
    *,
    offline: bool = False,
    lock: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Snapshot:
    """Capture the environment of *python* (default: this interpreter) and this machine.

    With ``lock=False`` no index hashes are looked up at all (what `check` needs: the installed
    set, fast); with ``offline=True`` only the local hash cache is used.
    """
    from . import blas, cpu, cuda, envvars, memory, nvml, osinfo, packages, target

    say = progress or (lambda _msg: None)
    tgt = target.probe(python)
    say(f"reading {len(tgt.site_dirs)} site folder(s) of {tgt.executable}")
    withheld: list[str] = []
    pkgs = packages.scan(tgt.site_dirs, withheld)
    conda_env = None
    if tgt.is_conda:
        from . import conda  # packaging.version, urllib: only for a conda prefix

        conda_env = conda.probe(tgt.prefix)
        if conda_env is not None:
            pkgs = conda.drop_conda_owned(pkgs, conda_env)
    if lock:
        from . import index  # urllib/ssl/http: only for look-ups, never on the `check` path

        locked = index.lock_hashes(pkgs, offline=offline, progress=say)
        pkgs, unhashed = locked.packages, locked.unhashed
        withheld += locked.withheld
    else:
        unhashed = ()
    stamp = _now()
    variables = envvars.probe(os.environ)
    withheld += envvars.withheld(variables)
    environment = Environment(
        python=tgt.python,
        os=osinfo.probe(),
        packages=pkgs,
        unhashed=unhashed,
        cuda=cuda.probe(pkgs, tgt.site_dirs),
        blas=blas.probe(pkgs, tgt.site_dirs),
        envvars=variables,
        conda=conda_env,
        created_at=stamp,
        created_by=f"envsnap {__version__}",
        withheld=tuple(sorted(set(withheld))),
    )
    hardware = Hardware(
        cpu=cpu.probe(),
        gpus=nvml.probe(),
        memory=memory.probe(),
        created_at=stamp,
        created_by=f"envsnap {__version__}",
    )
    return Snapshot(environment=environment, hardware=hardware)


def write(
    snapshot: Snapshot,
    out_dir: str | os.PathLike[str],
    *,
    numerics: str | None = None,
    project: ProjectState | None = None,
) -> tuple[str, ...]:
    """Write pylock.toml, requirements.txt, hardware.toml, (for conda) conda-lock.yml,
    (with *numerics*) numerics.toml and (with *project*) project.toml (the code's git state).

    A file that already holds the same capture, apart from its capture time, is left as it is:
    re-capturing an unchanged environment writes nothing, and a committed lock shows no diff.
    """
    from ..formats import hardware, pylock, requirements

    out = Path(out_dir)
    texts = {
        "pylock.toml": pylock.render(snapshot.environment),
        "requirements.txt": requirements.render(snapshot.environment),
    }
    if snapshot.hardware is not None:
        texts["hardware.toml"] = hardware.render(snapshot.hardware)
    if snapshot.environment.conda is not None:
        from ..formats import condalock  # packaging.version, hashlib: only for a conda prefix

        texts["conda-lock.yml"] = condalock.render(snapshot.environment)
    if numerics is not None:  # the text of numerics.toml (envsnap.numerics.fileformat.render)
        texts["numerics.toml"] = numerics
    if project is not None:
        from ..formats import project as project_toml

        texts[project_toml.PROJECT_FILE] = project_toml.render(project)
    from .._captureset import write_set
    from ..errors import InputError

    try:
        # One set: written beside the directory and moved in under a lock; a file of another
        # kind of environment (a stale conda-lock.yml) is removed.
        write_set(out, texts, unchanged=_same_capture)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise InputError(f"{out}: cannot write the capture ({why})") from None
    return tuple(str(out / name) for name in texts)


def _same_capture(path: Path, text: str) -> bool:
    """True when the regular file at *path* differs from *text* only in its capture time."""
    import stat

    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False  # a symlink or FIFO in the capture's place: replaced, never followed
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
    except (OSError, UnicodeDecodeError):
        return False
    return _without_stamp(old) == _without_stamp(text)


def _without_stamp(text: str) -> str:
    """*text* without the value of its ``created-at`` (TOML) or ``created_at`` (YAML) line:
    the capture time, one per file. str.find, not a regex: a warm lock is 450 KB."""
    for key in ("created-at = ", "created_at: "):
        at = text.find(key)
        while at > 0 and text[at - 1] == " ":  # YAML indents it
            at -= 1
        if at == 0 or (at > 0 and text[at - 1] == "\n"):
            end = text.find("\n", at)
            return text[:at] + (text[end:] if end >= 0 else "")
    return text
