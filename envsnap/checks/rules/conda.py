"""Rules on a conda capture: its packages, its CUDA toolkit, and the virtual packages
(``__glibc``, ``__cuda``) its lock needs from this machine.

A remedy names the package's channel, so that it can be pasted: ``conda install -c CHANNEL
name=version=build``. A conda CUDA toolkit (``cudatoolkit``, ``cuda-cudart``, ``cudnn``...) is
judged by relevance as the wheel one is (`envsnap.cudause`): when nothing in the environment
runs CUDA code (no CUDA build of a conda package, no CUDA framework), another toolkit cannot
change a result, and a difference is info.
"""

from __future__ import annotations

from envsnap.cudause import cuda_users
from envsnap.findings import Finding
from envsnap.knowledge import version_tuple
from envsnap.model import CondaEnv, CondaPackage, Environment, Snapshot

from ._common import sh

__all__ = ["RULES", "conda_packages", "conda_virtual", "machine_virtual", "remedy"]

# The conda packages that are the CUDA user-space stack (what a process loads).
CUDA_PACKAGES = frozenset(
    {
        "cudatoolkit", "cuda-toolkit", "cuda-cudart", "cuda-runtime", "cuda-libraries",
        "cuda-nvrtc", "cudnn", "libcublas", "libcufft", "libcurand", "libcusolver",
        "libcusparse", "nccl", "cuda-version",
    }
)  # fmt: skip


def remedy(pkg: CondaPackage) -> str:
    """The command that installs *pkg* exactly, from its channel."""
    spec = sh(f"{pkg.name}={pkg.version}={pkg.build}")
    channel = f"-c {sh(pkg.channel)} " if pkg.channel else ""
    return f"conda install {channel}{spec} (or envsnap rebuild --prefix PATH)"


def _uses_cuda(env: Environment) -> bool:
    """Something in the environment runs CUDA code: a CUDA build of a conda package (its build
    string says ``cuda``, as pytorch's ``py3.11_cuda12.1_cudnn8_0``), or a pip one."""
    conda = env.conda
    packages = conda.packages if conda is not None else ()
    builds = any("cuda" in p.build and p.name not in CUDA_PACKAGES for p in packages)
    return builds or cuda_users(env)


def _finding(pkg: CondaPackage, severity: str, code: str, message: str, *values: str) -> Finding:
    return Finding(severity, "packages", code, message, values[0], values[1], remedy(pkg))


def _one(pkg: CondaPackage, have: CondaPackage | None, cuda_used: bool) -> Finding | None:
    if have is None:
        found = _finding(
            pkg, "error", "conda.missing", f"conda package {pkg.name} is not installed",
            f"{pkg.version}={pkg.build}", "missing",
        )  # fmt: skip
    elif have.version != pkg.version:
        found = _finding(
            pkg, "error", "conda.version", f"conda package {pkg.name} is at another version",
            pkg.version, have.version,
        )  # fmt: skip
    elif have.build != pkg.build:
        found = _finding(
            pkg, "warning", "conda.build", f"conda package {pkg.name} {pkg.version} is another "
            "build", pkg.build, have.build,
        )  # fmt: skip
    elif pkg.sha256 and have.sha256 and pkg.sha256 != have.sha256:
        found = _finding(
            pkg, "warning", "conda.file", f"conda package {pkg.name} {pkg.version} "
            f"{pkg.build} is another file (sha256)", pkg.sha256[:12], have.sha256[:12],
        )  # fmt: skip
    else:
        return None
    if pkg.name in CUDA_PACKAGES:
        from envsnap._record import replace

        # a CUDA toolkit nothing runs cannot change a result: info, said why
        return replace(
            found,
            category="cuda",
            severity=found.severity if cuda_used else "info",
            message=found.message + ("" if cuda_used else " (nothing in the capture runs CUDA)"),
        )
    return found


def conda_packages(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """A recorded conda package missing or at another version is an error; another build, or
    another file of the same build (sha256), is a warning. A package of the CUDA stack
    (cudatoolkit, cuda-cudart, cudnn...) is never an error when nothing in the capture runs
    CUDA: info then."""
    rec_env = recorded.environment.conda
    if rec_env is None:
        return []
    cur_env = current.environment.conda
    cur = {p.name: p for p in cur_env.packages} if cur_env else {}
    used = _uses_cuda(recorded.environment)
    found = (_one(pkg, cur.get(pkg.name), used) for pkg in rec_env.packages)
    return sorted((f for f in found if f is not None), key=lambda f: f.code + f.message)


def machine_virtual(snapshot: Snapshot) -> dict[str, str]:
    """The virtual packages of the machine *snapshot* describes: those its conda lock recorded,
    else read from its C library, kernel and NVIDIA driver (a pip environment's capture)."""
    env = snapshot.environment
    if env.conda is not None and env.conda.virtual:
        return dict(env.conda.virtual)
    found = {}
    if env.os.libc.lower() == "glibc" and env.os.libc_version:
        found["__glibc"] = env.os.libc_version
    hw = snapshot.hardware
    if hw is not None and hw.gpus.cuda_driver_version:
        found["__cuda"] = hw.gpus.cuda_driver_version
    return found


def _needed(conda: CondaEnv, name: str) -> tuple[tuple[int, ...], str] | None:
    """The highest ``NAME >=X`` a locked package depends on, and which package."""
    best: tuple[tuple[int, ...], str] | None = None
    for pkg in conda.packages:
        for dep in pkg.depends:
            dep_name, _, spec = dep.partition(" ")
            if dep_name != name or not spec.startswith(">="):
                continue
            need = version_tuple(spec[2:].split(",")[0])
            if need and (best is None or need > best[0]):
                best = (need, f"{pkg.name} {pkg.version}")
    return best


_CODE = {"__glibc": "conda.glibc", "__cuda": "conda.cuda-driver"}


def _virtual_one(name: str, conda: CondaEnv, was: str | None, now: str | None) -> Finding | None:
    need = _needed(conda, name)
    have = version_tuple(now) if now else ()
    what = "C library (glibc)" if name == "__glibc" else "CUDA version of the NVIDIA driver"
    if need is not None and (not have or have < need[0]):
        wanted = ".".join(map(str, need[0]))
        return Finding(
            "error", "os" if name == "__glibc" else "driver", _CODE[name],
            f"{need[1]} needs {name} >={wanted}: this machine's {what} is older",
            f">={wanted}", now or "none",
            "run on a machine with a newer C library" if name == "__glibc"
            else f"install an NVIDIA driver that supports CUDA {wanted}",
        )  # fmt: skip
    if was and have and have < version_tuple(was):
        return Finding(
            "warning", "os" if name == "__glibc" else "driver", _CODE[name],
            f"this machine's {what} is older than where the lock was made ({name})",
            was, now or "none",
            "recapture on this machine, or run where the capture was made",
        )  # fmt: skip
    return None


def conda_virtual(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """``__glibc`` and ``__cuda`` against this machine: an error when a locked package depends
    on a newer one than this machine has (it may not load); a warning when this machine's is
    older than the capture's own (packages solved there may need it)."""
    conda = recorded.environment.conda
    if conda is None:
        return []
    was, now = dict(conda.virtual), machine_virtual(current)
    found = (_virtual_one(n, conda, was.get(n), now.get(n)) for n in ("__cuda", "__glibc"))
    return [f for f in found if f is not None]


RULES = (conda_packages, conda_virtual)
