"""Which launcher set a determinism variable in this process, where no `unset` can undo it.

torchrun (``torch.distributed.run``) exports ``OMP_NUM_THREADS=1`` to its workers when the
variable is not set and it starts more than one process per node (it logs "Setting
OMP_NUM_THREADS environment variable for each process to be 1 in default"); its workers carry
``TORCHELASTIC_RUN_ID`` and ``LOCAL_WORLD_SIZE``. Ray sets ``OMP_NUM_THREADS`` inside a worker
process to the CPUs assigned to the task (1 when it asks for none) when the variable is not set:
the variable is then in ``os.environ`` but not in the environment the process started with
(``/proc/self/environ``). `probe` is pure; `started_with` reads that file.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["probe", "started_with"]

VAR = "OMP_NUM_THREADS"


def probe(
    environ: Mapping[str, str], initial: Mapping[str, str] | None, *, ray: bool = False
) -> tuple[tuple[str, str], ...]:
    """``((variable, launcher), ...)`` for the variables of *environ* a launcher set.

    *initial* is the environment the process started with (None when unknown); *ray* whether
    this process is a Ray worker (``ray`` is imported).
    """
    value = environ.get(VAR)
    if value is None:
        return ()
    if ray and initial is not None and VAR not in initial:
        return ((VAR, "ray"),)
    several = environ.get("LOCAL_WORLD_SIZE", "1") not in ("", "0", "1")
    if "TORCHELASTIC_RUN_ID" in environ and several and value == "1":
        # torchrun's default, or the same value exported: either way what workers get
        return ((VAR, "torchrun"),)
    return ()


def started_with() -> dict[str, str] | None:
    """The environment this process started with, or None where /proc cannot tell."""
    try:
        with open("/proc/self/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep:
            out[name.decode(errors="replace")] = value.decode(errors="replace")
    return out
