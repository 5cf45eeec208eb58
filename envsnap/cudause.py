"""Which recorded CUDA components an environment actually loads.

A capture records every CUDA component it finds: the ``nvidia-*`` wheels, headers, a system
toolkit under CUDA_HOME or /usr/local/cuda, nvcc on PATH. Most machines with a system toolkit
run environments that never touch it (a CPU-only torch, torch with its own ``nvidia-*`` wheels).
`rebuild` picks a base image by what is used (no toolkit image for a CPU capture) and `check`
weighs a finding by it (a component nothing loads cannot make the job fail), so both read the
answer here. Pure functions over the model: no file system, no imports beyond it.
"""

from __future__ import annotations

from .model import Component, Environment

__all__ = ["cuda_users", "is_system", "is_wheel", "system_cuda", "used_components"]

# What a process loads from a CUDA installation; nvcc is a compiler, never loaded.
LIBRARIES = ("cuda-runtime", "cuda-toolkit", "cudnn", "cublas", "nccl")


def is_system(source: str) -> bool:
    """True for a component found in the system (toolkit dir, /usr/include), not in a wheel."""
    if source.startswith("system"):
        return True
    return source.startswith("header ") and "site-packages" not in source


def is_wheel(source: str) -> bool:
    """True for a component that an ``nvidia-*`` wheel (or its headers) brought."""
    return source.startswith("wheel ") or (source.startswith("header ") and not is_system(source))


def cuda_users(env: Environment) -> bool:
    """True when something in the environment runs CUDA code: a CUDA framework build or a
    CUDA package (cupy, cuda-python, jax-cuda plugins), not counting nvidia-* library wheels."""
    if any(f.cuda for f in env.cuda.frameworks):
        return True
    return any(
        ("cuda" in p.name or p.name.startswith("cupy")) and not p.name.startswith("nvidia-")
        for p in env.packages
    )


def _majors(env: Environment) -> set[str]:
    """The CUDA major versions the frameworks were built for (empty: none recorded)."""
    return {f.cuda.split(".")[0] for f in env.cuda.frameworks if f.cuda}


def _system_used(env: Environment, comp: Component) -> bool:
    """A system library counts when something uses CUDA, no wheel brings the runtime, and
    (when the frameworks record their CUDA build) its major version is theirs: a framework built
    for CUDA 12 cannot load a CUDA 13 libcudart.so.13."""
    if not cuda_users(env):
        return False
    if any(c.name == "cuda-runtime" and is_wheel(c.source) for c in env.cuda.components):
        return False
    majors = _majors(env)
    return not majors or comp.name == "cudnn" or comp.version.split(".")[0] in majors


def used_components(env: Environment) -> frozenset[str]:
    """The names of the recorded CUDA components that the environment loads.

    Wheel libraries (and those of an unknown source) count when something uses CUDA; system
    ones as `_system_used` says; nvcc
    counts only beside a used system toolkit (extensions that compile at run time call it).
    """
    used: set[str] = set()
    for comp in env.cuda.components:
        if comp.name not in LIBRARIES:
            continue
        if is_system(comp.source):
            if _system_used(env, comp):
                used.add(comp.name)
        elif cuda_users(env):  # a wheel's library, or a source this version does not know
            used.add(comp.name)
    if "nvcc" in {c.name for c in env.cuda.components} and "cuda-toolkit" in used:
        toolkit = env.cuda.component("cuda-toolkit")
        if toolkit is not None and is_system(toolkit.source):
            used.add("nvcc")
    return frozenset(used)


def system_cuda(env: Environment) -> str | None:
    """The system CUDA version the environment loads, or None.

    A /usr/local/cuda that nothing loads must not turn a CPU image into a multi-GB CUDA one,
    nor make `check` ask for a driver that nothing needs.
    """
    used = used_components(env)
    for name in ("cuda-runtime", "cuda-toolkit"):
        found = env.cuda.component(name)
        if found is not None and name in used and is_system(found.source):
            return found.version
    cudnn = env.cuda.component("cudnn")
    if cudnn is not None and "cudnn" in used and is_system(cudnn.source):
        return next((f.cuda for f in env.cuda.frameworks if f.cuda), None)
    return None
