"""Frozen data models of a capture: the software environment and the hardware.

Every model converts to and from plain dicts (`to_dict` / `from_dict`) with kebab-case keys, the
shape the TOML files use. `from_dict` validates types and names the offending field path, so a
hand-edited file gives one clear line instead of a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from ._record import MISSING, Record, field, fields, record, replace

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, TypeVar

    from ._record import Field

    T = TypeVar("T", bound="Model")
    _Converter = Callable[[Any, str], Any]

__all__ = [
    "CPU",
    "GPU",
    "PIN_REASONS",
    "SCHEMA_VERSION",
    "ArtifactFile",
    "BlasInfo",
    "Component",
    "CondaEnv",
    "CondaPackage",
    "CudaStack",
    "Environment",
    "FrameworkBuild",
    "GPUs",
    "Hardware",
    "Memory",
    "ModelError",
    "OSInfo",
    "Package",
    "Pin",
    "PythonInfo",
    "Snapshot",
    "fields",
    "replace",
]

SCHEMA_VERSION = 1


class ModelError(ValueError):
    """A dict does not fit a model; the message starts with the field path."""


_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
}


def _check_scalar(kind: str, value: Any, where: str) -> Any:
    types = _SCALARS[kind]
    if isinstance(value, bool) and bool not in types:
        raise ModelError(f"{where}: expected {kind}, got bool")
    if not isinstance(value, types):
        raise ModelError(f"{where}: expected {kind}, got {type(value).__name__}")
    return value


def _key(name: str) -> str:
    return name.replace("_", "-")


class Model(Record):
    """Base of the models (frozen records): typed dict round trip with kebab-case keys.

    `_nested` maps a field name to the model class of its value, or to a 1-tuple holding the class
    for a tuple of models. Other fields must be scalars, `X | None`, or `tuple[scalar, ...]`.
    """

    _nested: ClassVar[Mapping[str, Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        """Return a dict of this model, dropping `None` values and empty tuples."""
        out: dict[str, Any] = {}
        for key, name, _, _ in _plan(type(self)):
            value = getattr(self, name)
            if value is None or value == ():
                continue
            if isinstance(value, Model):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = [
                    v.to_dict() if isinstance(v, Model) else list(v) if isinstance(v, tuple) else v
                    for v in value
                ]
            out[key] = value
        return out

    @classmethod
    def from_dict(cls: type[T], data: Any, where: str = "") -> T:
        """Build the model from *data*, raising `ModelError` naming the first bad field."""
        if not isinstance(data, Mapping):
            raise ModelError(
                f"{where or cls.__name__}: expected a table, got {type(data).__name__}"
            )
        kwargs: dict[str, Any] = {}
        for key, name, required, convert in _plan(cls):
            if key not in data:
                if required:
                    raise ModelError(f"{f'{where}.{key}' if where else key}: missing")
                continue
            value = data[key]
            if convert is not None:
                value = convert(value, f"{where}.{key}" if where else key)
            kwargs[name] = value
        return cls(**kwargs)


# (dict key, field name, required, converter or None) per field, in declaration order, per
# class: `from_dict` and `to_dict` run once per locked file (a thousand times for a big lock),
# and working the keys and conversions out of the fields each time was most of their cost.
_PLANS: dict[type, tuple[tuple[str, str, bool, _Converter | None], ...]] = {}


def _plan(cls: type[Model]) -> tuple[tuple[str, str, bool, _Converter | None], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = tuple(
            (
                _key(f.name),
                f.name,
                f.default is MISSING and f.default_factory is MISSING,
                _converter(cls, f),
            )
            for f in fields(cls)
        )
        _PLANS[cls] = plan
    return plan


def _converter(cls: type[Model], f: Field) -> _Converter | None:
    """How `from_dict` checks a value of field *f*; None: taken as it is."""
    nested = cls._nested.get(f.name)
    if isinstance(nested, tuple):
        return functools.partial(_models, nested[0])
    if nested is not None:
        return nested.from_dict  # type: ignore[no-any-return]
    kind = str(f.type).replace(" ", "")
    if kind.endswith("|None"):
        kind = kind[: -len("|None")]
    if kind.startswith("tuple[tuple[str,str]"):
        return _pairs
    if kind.startswith("tuple["):
        return functools.partial(_scalars, kind[len("tuple[") :].split(",")[0])
    if kind in _SCALARS:
        return functools.partial(_scalar, _SCALARS[kind], kind)
    return None  # Literal-typed strings and Any


def _models(model: type[Model], value: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise ModelError(f"{path}: expected an array")
    return tuple(model.from_dict(v, f"{path}[{i}]") for i, v in enumerate(value))


def _pairs(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(s, str) for s in v) for v in value
    ):
        raise ModelError(f"{path}: expected an array of [name, value] pairs")
    return tuple((v[0], v[1]) for v in value)


def _scalars(inner: str, value: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise ModelError(f"{path}: expected an array")
    return tuple(_check_scalar(inner, v, f"{path}[{i}]") for i, v in enumerate(value))


def _scalar(types: tuple[type, ...], kind: str, value: Any, path: str) -> Any:
    # _check_scalar, inlined for the common case: a str where a str is expected.
    if type(value) is str and types[0] is str:
        return value
    if isinstance(value, bool) and bool not in types:
        raise ModelError(f"{path}: expected {kind}, got bool")
    if not isinstance(value, types):
        raise ModelError(f"{path}: expected {kind}, got {type(value).__name__}")
    return value


# --- software -----------------------------------------------------------------------------------


@record
class ArtifactFile(Model):
    """One file of a package version on an index: a wheel or an sdist."""

    name: str
    url: str | None = None
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    upload_time: str | None = None


@record
class Package(Model):
    """One installed distribution and where it came from.

    `source` is one of: ``index`` (a wheel or sdist from an index or find-links folder), ``url``
    (a direct URL archive), ``vcs``, ``directory`` (a local path), ``editable``, ``conda``
    (installed by conda, no pip record), ``unknown``.
    """

    name: str
    version: str
    source: str = "unknown"
    requested: bool = False
    installer: str | None = None
    url: str | None = None
    vcs: str | None = None
    commit_id: str | None = None
    requested_revision: str | None = None
    subdirectory: str | None = None
    archive_sha256: str | None = None
    wheel_tags: tuple[str, ...] = ()
    index: str | None = None
    installed_file: str | None = None
    files: tuple[ArtifactFile, ...] = ()
    _nested: ClassVar[Mapping[str, Any]] = {"files": (ArtifactFile,)}

    @property
    def pin(self) -> Pin:
        """Whether a lock pins this package, and why (or why not): the one rule that the lock,
        the index look-up, the rebuild plan and the report all apply."""
        return _pin(self)


# Why a lock does or does not pin a package: reason code -> what it means. A package is pinned
# when PEP 751 can name exactly what to install: its files' sha256 (an index), its archive's
# sha256 and URL (a direct URL), its VCS, URL and commit, or its local path (a folder; the
# path, not the content). Every empty string counts as missing.
PIN_REASONS: Mapping[str, str] = {
    "file-hash": "sha256 of its files",
    "archive-hash": "sha256 of its archive",
    "commit": "VCS commit",
    "path": "local path (not its content)",
    "no-hash": "no hash found",
    "no-archive-hash": "no archive hash",
    "no-url": "no URL",
    "no-vcs": "no VCS type",
    "no-commit": "no commit",
    "conda": "installed by conda (no pip record)",
    "unknown": "source unknown",
}
# The reasons that pin a package by its content (a hash or a commit), not only by its path.
_BY_CONTENT = frozenset({"file-hash", "archive-hash", "commit"})


@record
class Pin(Record):
    """Whether a lock pins a package (`pinned`), and the code of why (`reason`, a key of
    `PIN_REASONS`)."""

    pinned: bool
    reason: str

    @property
    def by_content(self) -> bool:
        """True when a hash or a commit pins the package (a local path pins only its place)."""
        return self.reason in _BY_CONTENT


def _pin(p: Package) -> Pin:  # noqa: PLR0911 - one answer per source and missing part
    if p.source == "index":
        return Pin(True, "file-hash") if any(f.sha256 for f in p.files) else Pin(False, "no-hash")
    if p.source == "url":
        if not p.archive_sha256:
            return Pin(False, "no-archive-hash")
        return Pin(True, "archive-hash") if p.url else Pin(False, "no-url")
    if p.source == "vcs":
        if not p.url:
            return Pin(False, "no-url")
        if not p.vcs:
            return Pin(False, "no-vcs")
        return Pin(True, "commit") if p.commit_id else Pin(False, "no-commit")
    if p.source in ("directory", "editable"):
        return Pin(True, "path") if p.url else Pin(False, "no-url")
    return Pin(False, "conda" if p.source == "conda" else "unknown")


@record
class PythonInfo(Model):
    """The interpreter: implementation, exact version, build and the tags it installs."""

    implementation: str
    version: str
    build: str = ""
    compiler: str = ""
    abi: str = ""
    soabi: str = ""
    gil_disabled: bool = False
    platform_tags: tuple[str, ...] = ()


@record
class OSInfo(Model):
    """The operating system, C library and kernel; `container` names the runtime or is None."""

    system: str
    machine: str
    distro: str = ""
    version: str = ""
    codename: str = ""
    pretty_name: str = ""
    libc: str = ""
    libc_version: str = ""
    kernel: str = ""
    container: str | None = None


@record
class FrameworkBuild(Model):
    """A numeric framework's build: the CUDA version and GPU architectures it ships kernels for."""

    name: str
    version: str
    cuda: str | None = None
    cudnn: str | None = None
    arch_list: tuple[str, ...] = ()


@record
class Component(Model):
    """A CUDA user-space component (cuda-runtime, cudnn, cublas, nccl, nvcc, cuda-toolkit)."""

    name: str
    version: str
    source: str = ""


@record
class CudaStack(Model):
    """The CUDA user-space stack that the environment loads."""

    frameworks: tuple[FrameworkBuild, ...] = ()
    components: tuple[Component, ...] = ()
    _nested: ClassVar[Mapping[str, Any]] = {
        "frameworks": (FrameworkBuild,),
        "components": (Component,),
    }

    def component(self, name: str) -> Component | None:
        """Return the component called *name*, or None."""
        return next((c for c in self.components if c.name == name), None)

    def framework(self, name: str) -> FrameworkBuild | None:
        """Return the framework build called *name*, or None."""
        return next((f for f in self.frameworks if f.name == name), None)


@record
class BlasInfo(Model):
    """The BLAS a numeric library was built with (e.g. numpy → scipy-openblas 0.3.27)."""

    owner: str
    name: str
    version: str = ""
    detail: str = ""


@record
class CondaPackage(Model):
    """One package from a conda environment's `conda-meta/*.json`."""

    name: str
    version: str
    build: str
    channel: str = ""
    url: str = ""
    md5: str = ""
    sha256: str = ""
    platform: str = ""
    depends: tuple[str, ...] = ()


@record
class CondaEnv(Model):
    """A conda environment: its platform, channels and packages.

    `virtual` holds the virtual packages of the machine that captured it, as (name, version):
    ``__glibc``, ``__linux`` and, with an NVIDIA driver, ``__cuda`` (the CUDA version the driver
    supports), which is what a conda solver would have seen there.
    """

    platform: str
    channels: tuple[str, ...] = ()
    packages: tuple[CondaPackage, ...] = ()
    virtual: tuple[tuple[str, str], ...] = ()
    _nested: ClassVar[Mapping[str, Any]] = {"packages": (CondaPackage,)}


@record
class Environment(Model):
    """The software side of a capture (pylock.toml and conda-lock.yml)."""

    python: PythonInfo
    os: OSInfo
    packages: tuple[Package, ...] = ()
    unhashed: tuple[str, ...] = ()
    cuda: CudaStack = field(default_factory=CudaStack)
    blas: tuple[BlasInfo, ...] = ()
    envvars: tuple[tuple[str, str], ...] = ()
    # (variable, launcher) for the envvars torchrun or Ray set in the process that probed (not
    # written to a lock: a fact of one run, which the checks name in their remedies)
    launcher: tuple[tuple[str, str], ...] = ()
    conda: CondaEnv | None = None
    created_at: str = ""
    created_by: str = ""
    withheld: tuple[str, ...] = ()  # fields whose value was not recorded (envsnap._redact)
    _nested: ClassVar[Mapping[str, Any]] = {
        "python": PythonInfo,
        "os": OSInfo,
        "packages": (Package,),
        "cuda": CudaStack,
        "blas": (BlasInfo,),
        "conda": CondaEnv,
    }

    def package(self, name: str) -> Package | None:
        """Return the installed package with normalized *name*, or None."""
        return next((p for p in self.packages if p.name == name), None)


# --- hardware -----------------------------------------------------------------------------------


@record
class GPU(Model):
    """One NVIDIA GPU as NVML reports it."""

    index: int
    name: str
    uuid: str = ""
    memory_total_bytes: int = 0
    compute_capability: str = ""
    architecture: str = ""
    mig_mode: bool | None = None
    ecc_mode: bool | None = None
    multiprocessor_count: int | None = None


@record
class GPUs(Model):
    """The NVIDIA GPUs, or why there are none.

    `status` is ``ok`` (NVML answered; `devices` may still be empty), ``none`` (no NVIDIA driver
    library: a normal CPU machine) or ``unavailable`` (library present but NVML failed: driver not
    loaded, no permission, ...). `reason` says why in words.
    """

    status: str = "none"
    reason: str = ""
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    devices: tuple[GPU, ...] = ()
    _nested: ClassVar[Mapping[str, Any]] = {"devices": (GPU,)}


@record
class CPU(Model):
    """The CPU model and instruction sets."""

    arch: str
    vendor: str = ""
    model_name: str = ""
    family: int | None = None
    model: int | None = None
    stepping: int | None = None
    sockets: int | None = None
    physical_cores: int | None = None
    logical_cores: int | None = None
    flags: tuple[str, ...] = ()


@record
class Memory(Model):
    """Total RAM and NUMA layout."""

    total_bytes: int = 0
    numa_nodes: int = 1


@record
class Hardware(Model):
    """The hardware side of a capture (hardware.toml)."""

    cpu: CPU
    gpus: GPUs = field(default_factory=GPUs)
    memory: Memory = field(default_factory=Memory)
    created_at: str = ""
    created_by: str = ""
    _nested: ClassVar[Mapping[str, Any]] = {"cpu": CPU, "gpus": GPUs, "memory": Memory}


@record
class Snapshot(Record):
    """A whole capture: what `capture` writes and what `check`, `diff` and `rebuild` read."""

    environment: Environment
    hardware: Hardware | None = None
