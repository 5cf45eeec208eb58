"""The rebuild plan: which package goes into which install layer and how, all validated.

`make_plan` is pure and cheap (no file system, no network): it validates every lock value that
will reach the Dockerfile or a requirements file and sorts packages into layers. Heavy, stable
packages (torch, nvidia-*, tensorflow, jax, triton) come first, so that changing one small package
reuses their multi-GB layer; wheels of 4 MiB or more (numpy, scipy, pandas...) come next, so the
small packages that change most often sit in a layer of their own; packages built from source
in the build (local directories, editables, VCS commits, and locked sdists fetched on the host)
come last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .._record import Record, record
from ..errors import InputError
from ..model import ArtifactFile, Environment, Package
from .baseimage import BaseChoice, choose, pin
from .validate import (
    VCS_SCHEMES,
    check_commit,
    check_context_path,
    check_env_name,
    check_filename,
    check_name,
    check_sha256,
    check_text,
    check_timestamp,
    check_url,
    check_version,
)

if TYPE_CHECKING:
    from ..formats.image import ImageRecord

__all__ = [
    "HEAVY",
    "Install",
    "Layer",
    "Layout",
    "Plan",
    "is_heavy",
    "layers_for",
    "local_path",
    "make_plan",
    "needs_network",
    "pick_file",
    "plan_layers",
]

HEAVY = frozenset({"torch", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "triton"})
LOCK = "pylock.toml"
_ON_HOST = frozenset({"file", "source", "sdist"})  # the context holds these packages' files


def is_heavy(name: str) -> bool:
    """True for the big, rarely changing packages that get their own, earlier layer."""
    return name in HEAVY or name.startswith("nvidia-")


@record
class Install(Record):
    """How one locked package is installed.

    `how` is ``index`` (name==version with every locked hash, from an index or the context),
    ``file`` (a locked file that lies on the host: copied into the context), ``url`` (a direct
    URL archive with its hash), ``source`` (a local directory, editable or VCS commit: its tree
    goes into the context and is built there, installed non-editable) or ``sdist`` (a locked
    sdist that lies on the host, or any locked sdist when every file is fetched on the host:
    fetched and hash-checked there, built in the build with its build requirements fetched on
    the host too, so the build needs no index).
    """

    name: str
    version: str
    how: str
    layer: str
    package: Package


@record
class Layer(Record):
    """One install stage: its requirements file, whether it needs its wheels folder, and the
    packages of it built from a source tree (`sources`; the others are installed by hash)."""

    name: str
    packages: tuple[str, ...]
    local: bool
    no_index: bool
    sources: tuple[str, ...] = ()

    @property
    def hashed(self) -> bool:
        """Whether the layer installs packages by hash (a requirements file)."""
        return len(self.packages) > len(self.sources)

    @property
    def source_list(self) -> str:
        """The file naming the packages built from source trees, with their locked versions."""
        return f"layers/{self.name}/sources.txt"

    @property
    def requirements(self) -> str:
        """The requirements file of this layer, relative to the context (or work folder)."""
        return f"layers/{self.name}/requirements.txt"

    @property
    def wheels(self) -> str:
        """The folder of this layer's requirements and wheels, relative to the context."""
        return f"layers/{self.name}"


@record
class Layout(Record):
    """The packages of an environment sorted into install layers, validated (image and venv)."""

    installs: tuple[Install, ...]
    layers: tuple[Layer, ...]
    indexes: tuple[str, ...]
    skipped: tuple[str, ...]
    wheelhouse: bool


@record
class Plan(Record):
    """Everything the Dockerfile and the context need, validated."""

    base: BaseChoice
    python_version: str
    installs: tuple[Install, ...]
    layers: tuple[Layer, ...]
    indexes: tuple[str, ...]
    envvars: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    skipped: tuple[str, ...]
    wheelhouse: bool
    ca_cert: bool
    conda: bool


def local_path(url: str | None, where: str) -> str | None:
    """Return the host path of a ``file://`` URL or a bare path, None for remote URLs."""
    if not url:
        return None
    check_text(url, where)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return unquote(parts.path)
    return url if not parts.scheme else None


def _tags(name: str) -> frozenset[str]:
    try:
        return frozenset(str(t) for t in parse_wheel_filename(name)[3])
    except InvalidWheelFilename:
        return frozenset()


def pick_file(pkg: Package, env: Environment) -> ArtifactFile:
    """Return the locked file of *pkg* that the captured environment installed, or could."""
    files = [f for f in pkg.files if f.sha256]
    by_name = {f.name: f for f in files}
    if pkg.installed_file and pkg.installed_file in by_name:
        return by_name[pkg.installed_file]
    wanted = list(pkg.wheel_tags) + list(env.python.platform_tags)
    rank = {t: i for i, t in reversed(list(enumerate(wanted)))}
    wheels = [
        (min(rank.get(t, len(rank)) for t in _tags(f.name)), f.name, f)
        for f in files
        if f.name.endswith(".whl") and _tags(f.name) & rank.keys()
    ]
    if wheels:
        return min(wheels, key=lambda w: (w[0], w[1]))[2]
    if len(files) == 1:
        return files[0]
    sdists = [f for f in files if f.name.endswith((".tar.gz", ".zip"))]
    if sdists:
        return sorted(sdists, key=lambda f: f.name)[0]
    raise InputError(f"pylock.toml: {pkg.name}: cannot tell which of {len(files)} files to use")


def _is_sdist(pkg: Package, env: Environment) -> bool:
    """True when the file that would be installed for *pkg* is not a wheel."""
    if pkg.source == "url":
        name = unquote(urlsplit(pkg.url or "").path).rsplit("/", 1)[-1]
    else:
        name = pick_file(pkg, env).name
    return not name.endswith(".whl")


def _is_local_file(pkg: Package) -> bool:
    return any(f.path or (f.url and f.url.startswith("file:")) for f in pkg.files)


def _classify(pkg: Package, where: str) -> str | None:
    """How *pkg* is installed (``index``, ``file``, ``url``, ``source``); None when the lock
    does not pin it (`Package.pin`). Every recorded value that reaches the image is checked."""
    if not pkg.pin.pinned:
        return None
    if pkg.source == "index":
        for i, f in enumerate(pkg.files):
            check_filename(f.name, f"{where}.files[{i}].name")
            if f.sha256:
                check_sha256(f.sha256, f"{where}.files[{i}].sha256")
            if f.url and not f.url.startswith("file:"):
                check_url(f.url, f"{where}.files[{i}].url")
        return "file" if _is_local_file(pkg) else "index"
    if pkg.source == "url":
        assert pkg.url is not None and pkg.archive_sha256 is not None  # pinned
        check_sha256(pkg.archive_sha256, f"{where}.archive-sha256")
        if pkg.url.startswith("file:"):
            return "file"
        check_url(pkg.url, f"{where}.url")
        return "url"
    if pkg.source == "vcs":
        assert pkg.url is not None and pkg.commit_id is not None  # pinned
        check_url(pkg.url, f"{where}.url", VCS_SCHEMES)
        check_commit(pkg.commit_id, f"{where}.commit-id")
        if pkg.subdirectory:
            check_context_path(pkg.subdirectory, f"{where}.subdirectory")
    return "source"  # a VCS checkout, or a local folder pinned by its path


# A wheel this big (numpy, scipy, pandas...) gets the "large" layer, installed before the small
# packages: changing tabulate then reinstalls kilobytes, not the 600 MB of the scientific stack.
LARGE_BYTES = 4 << 20


def _layer(name: str, how: str, pkg: Package, env: Environment) -> str:
    if how in ("source", "sdist"):
        return "local"
    if is_heavy(name):
        return "heavy"
    if how in ("index", "file"):
        try:
            size = pick_file(pkg, env).size
        except InputError:
            size = None  # reported where the file is fetched
        if size is not None and size >= LARGE_BYTES:
            return "large"
    return "packages"


def layers_for(installs: list[Install], wheelhouse: bool) -> tuple[Layer, ...]:
    """Group *installs* into the install layers: heavy, large, the rest, locally built last."""
    layers = []
    for name in ("heavy", "large", "packages", "local"):
        members = [i for i in installs if i.layer == name]
        if not members:
            continue
        local = wheelhouse or any(i.how in _ON_HOST for i in members)
        no_index = wheelhouse or all(i.how in _ON_HOST for i in members)
        sources = tuple(i.name for i in members if i.how == "source")
        layers.append(Layer(name, tuple(i.name for i in members), local, no_index, sources))
    return tuple(layers)


def needs_network(plan: Plan) -> bool:
    """Whether the build needs the network: pip downloads from an index (``--fetch-in-build``),
    or the base needs an interpreter (uv, for nvidia/cuda). Conda files travel in the context."""
    return plan.base.kind == "cuda" or not all(ly.no_index for ly in plan.layers)


def _indexes(installs: list[Install]) -> tuple[str, ...]:
    seen: set[str] = set()
    for i in installs:
        if i.how == "index" and i.package.index and not i.package.index.startswith("file:"):
            seen.add(check_url(i.package.index.rstrip("/"), f"{LOCK}: {i.name}.index"))
    pypi = "https://pypi.org/simple"
    return tuple(sorted(seen, key=lambda u: (u != pypi, u)))


def _labels(
    env: Environment, lock_digest: str, source: str | None, revision: str | None
) -> tuple[tuple[str, str], ...]:
    labels = [("io.envsnap.lock.digest", f"sha256:{check_sha256(lock_digest, 'lock digest')}")]
    if env.created_at:
        created = check_timestamp(env.created_at, f"{LOCK}: created-at")
        labels.append(("org.opencontainers.image.created", created))
    if source:
        labels.append(("org.opencontainers.image.source", check_url(source, "git remote")))
    if revision:
        labels.append(("org.opencontainers.image.revision", check_commit(revision, "git HEAD")))
    labels.append(("io.envsnap.python", env.python.version))
    return tuple(sorted(labels))


def _envvars(env: Environment) -> tuple[tuple[str, str], ...]:
    from .._envvars import ALLOWLIST
    from .._redact import WITHHELD

    out = {}
    for name, value in env.envvars:
        check_env_name(name, f"{LOCK}: envvars")
        if name not in ALLOWLIST:
            # PATH, LD_PRELOAD, PYTHONPATH... would change what runs in the image.
            raise InputError(f"{LOCK}: envvars.{name}: not a determinism variable envsnap records")
        if value == WITHHELD:
            continue  # present at capture, its value withheld: no ENV line
        out[name] = check_text(value, f"{LOCK}: envvars.{name}")
    return tuple(sorted(out.items()))


def make_plan(
    env: Environment,
    *,
    lock_digest: str,
    base_image: str | None = None,
    wheelhouse: bool = False,
    ca_cert: bool = False,
    source: str | None = None,
    revision: str | None = None,
    recorded: ImageRecord | None = None,
) -> Plan:
    """Validate *env* and sort its packages into install layers; raise `InputError` if hostile.

    *recorded* is the last build's image.toml: its registry digest pins the base image.
    """
    base = pin(choose(env, base_image), recorded)
    layout = plan_layers(env, wheelhouse=wheelhouse)
    return Plan(
        base=base,
        python_version=env.python.version,
        installs=layout.installs,
        layers=layout.layers,
        indexes=layout.indexes,
        envvars=_envvars(env),
        labels=_labels(env, lock_digest, source, revision),
        skipped=layout.skipped,
        wheelhouse=wheelhouse,
        ca_cert=ca_cert,
        conda=env.conda is not None,
    )


def plan_layers(env: Environment, *, wheelhouse: bool = False) -> Layout:
    """Validate *env*'s packages and sort them into install layers: what image and venv share."""
    installs: list[Install] = []
    skipped: list[str] = []
    for n, pkg in enumerate(sorted(env.packages, key=lambda p: p.name)):
        where = f"{LOCK}: packages[{n}]"
        name = check_name(pkg.name, f"{where}.name")
        version = check_version(pkg.version, f"{where}.version")
        how = _classify(pkg, f"{where} ({name})")
        if how is None:
            skipped.append(f"{name}=={version} ({pkg.source})")
            continue
        if how in ("index", "file", "url") and (how == "file" or wheelhouse):
            how = "sdist" if _is_sdist(pkg, env) else how
        layer = _layer(name, how, pkg, env)
        installs.append(Install(name, version, how, layer, pkg))
    return Layout(
        installs=tuple(installs),
        layers=layers_for(installs, wheelhouse),
        indexes=() if wheelhouse else _indexes(installs),
        skipped=tuple(sorted(skipped)),
        wheelhouse=wheelhouse,
    )
