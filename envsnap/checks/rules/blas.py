"""Rules on BLAS: another library or version behind a numeric package, other thread counts."""

from __future__ import annotations

from envsnap.findings import Finding
from envsnap.model import Environment, Snapshot

from ._common import envvars, sh

__all__ = ["RULES", "THREAD_VARS", "blas_library", "thread_counts"]

# Thread counts change how reductions are partitioned, hence the summation order.
THREAD_VARS = (
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def _blas(env: Environment) -> dict[str, tuple[str, str]]:
    return {b.owner: (b.name, b.version) for b in env.blas}


def blas_library(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another BLAS (MKL ↔ OpenBLAS ↔ Accelerate) or version behind the same package: warning.
    Never an error: the job runs, only the summation order differs."""
    rec, cur = _blas(recorded.environment), _blas(current.environment)
    found: list[Finding] = []
    for owner in sorted(set(rec) & set(cur)):
        (rname, rver), (cname, cver) = rec[owner], cur[owner]
        if rname != cname:
            found.append(
                Finding(
                    "warning",
                    "blas",
                    "blas.library-changed",
                    f"{owner} uses another BLAS: other kernels and summation order",
                    rname,
                    cname,
                    f"install the {owner} build linked to {rname}",
                )
            )
        elif rver and cver and rver != cver:
            found.append(
                Finding(
                    "warning",
                    "blas",
                    "blas.version-changed",
                    f"{owner} uses another {rname} version",
                    rver,
                    cver,
                    f"install the {owner} build with {rname} {rver}",
                )
            )
    return found


# How each launcher that sets a thread count in its workers takes a value instead.
_LAUNCHED = {
    "torchrun": ("torchrun sets it to 1 in each worker when it is not exported", "before torchrun"),
    "ray": (
        "Ray sets it in each worker to the task's CPUs when it is not set",
        "in the job's runtime_env (env_vars), or before `ray start`",
    ),
}


def _launched(var: str, recorded: str | None, current: str, launcher: str) -> tuple[str, str]:
    """(message, remedy) for *var* set by *launcher* in this worker: `unset` cannot undo it."""
    what, where = _LAUNCHED[launcher]
    message = f"{var}={current} here: {what}; reductions are split across other threads"
    if recorded is not None:
        return message, f"export {var}={sh(recorded)} {where}"
    return message, (
        f"capture as the workers run ({var}={sh(current)} envsnap capture), or set {var} {where}"
    )


def thread_counts(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """A thread-count variable set or changed since the recording: warning (reduction order).
    Never an error. A value a launcher set in its workers (torchrun, Ray) is named as such,
    with a remedy that works under it."""
    rec, cur = envvars(recorded.environment), envvars(current.environment)
    launchers = dict(current.environment.launcher)
    found: list[Finding] = []
    for var in THREAD_VARS:
        if rec.get(var) == cur.get(var):
            continue
        message = f"{var} differs: reductions are split across another number of threads"
        remedy = f"export {var}={sh(rec[var])}" if var in rec else f"unset {var}"
        actual = cur.get(var, "unset")
        if var in cur and launchers.get(var) in _LAUNCHED:
            message, remedy = _launched(var, rec.get(var), cur[var], launchers[var])
            actual += f" (set by {launchers[var]})"
        found.append(
            Finding(
                "warning",
                "blas",
                "blas.threads-changed",
                message,
                rec.get(var, "unset"),
                actual,
                remedy,
            )
        )
    return found


RULES = (blas_library, thread_counts)
