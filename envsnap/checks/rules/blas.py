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


def thread_counts(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """A thread-count variable set or changed since the recording: warning (reduction order).
    Never an error."""
    rec, cur = envvars(recorded.environment), envvars(current.environment)
    found: list[Finding] = []
    for var in THREAD_VARS:
        if rec.get(var) == cur.get(var):
            continue
        remedy = f"export {var}={sh(rec[var])}" if var in rec else f"unset {var}"
        found.append(
            Finding(
                "warning",
                "blas",
                "blas.threads-changed",
                f"{var} differs: reductions are split across another number of threads",
                rec.get(var, "unset"),
                cur.get(var, "unset"),
                remedy,
            )
        )
    return found


RULES = (blas_library, thread_counts)
