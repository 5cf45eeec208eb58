"""A node's compact fingerprint: the facts on which the nodes of one job must agree.

Pure: a `Snapshot` in, a flat mapping of short strings out. Each key is one `Field`, which also
says how bad it is when nodes disagree on it: ``error`` for what can hang a collective or change
the numbers (NCCL, driver, CUDA libraries, packages, Python, GPU model, determinism variables,
numerics), ``warning`` for what changes CPU-side kernels, ``info`` for harmless drift.
"""

from __future__ import annotations

from envsnap._record import Record, record
from envsnap.model import Environment, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["FIELDS", "NONE", "Field", "fingerprint", "package_digest", "package_versions"]

NONE = "none"


@record
class Field(Record):
    """One fingerprint key: its label in messages, finding category, severity and remedy."""

    key: str
    label: str
    category: str
    severity: str
    why: str


FIELDS: tuple[Field, ...] = (
    Field("capture", "capture", "packages", "error", "checked against other captures"),
    Field("python", "Python", "python", "error", "another interpreter can compute other numbers"),
    Field("packages", "package set", "packages", "error", "other package versions run other code"),
    Field("frameworks", "framework build", "cuda", "error", "other kernels"),
    Field("nccl", "NCCL", "cuda", "error", "mixed NCCL versions can hang collectives"),
    Field("cuda-runtime", "CUDA runtime", "cuda", "error", "other CUDA libraries, other kernels"),
    Field("cublas", "cuBLAS", "cuda", "error", "other GEMM kernels, other rounding"),
    Field("cudnn", "cuDNN", "cuda", "error", "other convolution algorithms"),
    Field("driver", "driver", "driver", "error", "it JIT-compiles PTX, sets NCCL transports"),
    Field("gpus", "GPUs", "gpu", "error", "other kernels, other sharding"),
    Field("determinism", "determinism variables", "determinism", "error", "other numbers"),
    Field("numerics", "numerics digest", "determinism", "error", "other bits"),
    Field("isa", "CPU instruction set", "cpu", "warning", "CPU kernels dispatch on it"),
    Field("cpu", "CPU", "cpu", "info", "another CPU model"),
    Field("os", "OS", "os", "info", "another OS or C library"),
    Field("kernel", "kernel", "os", "info", "another kernel"),
    Field("memory", "RAM", "memory", "info", "another amount of memory"),
)  # fmt: skip


def package_versions(env: Environment) -> dict[str, str]:
    """Installed distributions as {normalized name: version}, and a conda environment's
    packages as {``conda:name``: ``version=build``} (no pip name has a colon; a pip capture's
    digest is what it was before conda joined it)."""
    from envsnap._text import canonical_name

    found = {canonical_name(p.name): p.version for p in env.packages}
    if env.conda is not None:
        found.update({f"conda:{p.name}": f"{p.version}={p.build}" for p in env.conda.packages})
    return found


def package_digest(versions: Mapping[str, str]) -> str:
    """sha256 hex of ``name==version`` lines, sorted: equal digests mean equal package sets."""
    import hashlib

    text = "".join(f"{n}=={v}\n" for n, v in sorted(versions.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _gpus(snapshot: Snapshot) -> tuple[str, str]:
    hw = snapshot.hardware
    if hw is None or hw.gpus.status != "ok":
        reason = "no GPU" if hw is None or hw.gpus.status == "none" else "NVML unavailable"
        return reason, NONE
    kinds: dict[str, int] = {}
    for g in hw.gpus.devices:
        kind = f"{g.name} {g.memory_total_bytes >> 20} MiB" + (
            f" cc {g.compute_capability}" if g.compute_capability else ""
        )
        kinds[kind] = kinds.get(kind, 0) + 1
    gpus = ", ".join(f"{n} x {k}" for k, n in sorted(kinds.items())) or "0 GPUs"
    return gpus, hw.gpus.driver_version or NONE


def fingerprint(snapshot: Snapshot, *, numerics: str | None = None) -> dict[str, str]:
    """The fingerprint of this node (every key of `FIELDS` but ``capture``), values as strings."""
    from envsnap.checks.rules.cpu import simd_level

    env, hw = snapshot.environment, snapshot.hardware
    py = env.python
    fp: dict[str, str] = {
        "python": f"{py.implementation} {py.version}" + (f" {py.abi}" if py.abi else ""),
        "packages": package_digest(package_versions(env)),
        "frameworks": ", ".join(
            f"{f.name} {f.version}" + (f" (CUDA {f.cuda})" if f.cuda else "")
            for f in sorted(env.cuda.frameworks, key=lambda f: f.name)
        )
        or NONE,
    }
    for name in ("nccl", "cuda-runtime", "cublas", "cudnn"):
        comp = env.cuda.component(name)
        fp[name] = comp.version if comp is not None else NONE
    fp["gpus"], fp["driver"] = _gpus(snapshot)
    fp["determinism"] = " ".join(f"{k}={v}" for k, v in sorted(env.envvars)) or "(none set)"
    fp["numerics"] = numerics or NONE
    if hw is not None:
        fp["isa"] = f"{hw.cpu.arch} {simd_level(hw.cpu.flags)}"
        fp["cpu"] = hw.cpu.model_name or hw.cpu.arch
        fp["memory"] = f"{round(hw.memory.total_bytes / (1 << 30))} GiB"
    fp["os"] = " ".join(filter(None, (env.os.pretty_name or env.os.system, env.os.libc_version)))
    fp["kernel"] = env.os.kernel or NONE
    return fp
