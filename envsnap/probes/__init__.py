"""Capture: read the running machine and a target interpreter into a `Snapshot`.

Each fact has its own probe module; probes never raise on missing hardware. This module only
assembles them; `envsnap.formats.capture` writes the files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .. import __version__
from ..model import Environment, Hardware, Snapshot

__all__ = ["capture"]


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
        from ..index import lookup  # urllib/ssl/http: only for look-ups, never on the `check` path

        locked = lookup.lock_hashes(pkgs, offline=offline, progress=say)
        pkgs, unhashed = locked.packages, locked.unhashed
        withheld += locked.withheld
    else:
        unhashed = ()
    stamp = _now()
    variables = envvars.probe(os.environ)
    withheld += envvars.withheld(variables)
    set_by = _launcher_vars(dict(variables))
    environment = Environment(
        python=tgt.python,
        os=osinfo.probe(),
        packages=pkgs,
        unhashed=unhashed,
        cuda=cuda.probe(pkgs, tgt.site_dirs),
        blas=blas.probe(pkgs, tgt.site_dirs),
        envvars=variables,
        launcher=set_by,
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
    if conda_env is not None:
        from ..model import replace
        from . import conda

        virtual = conda.virtual_packages(hardware.gpus.cuda_driver_version)
        environment = replace(environment, conda=replace(conda_env, virtual=virtual))
    return Snapshot(environment=environment, hardware=hardware)


def _launcher_vars(variables: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The recorded variables a launcher (torchrun, Ray) set in this process."""
    if "OMP_NUM_THREADS" not in variables:
        return ()  # the common case: nothing to read
    import sys

    from . import launcher

    return launcher.probe(os.environ, launcher.started_with(), ray="ray" in sys.modules)
