"""Choose the base image that reproduces a capture, and say why.

CPU-only captures, and CUDA that comes entirely from ``nvidia-*`` wheels, get the official
``python:<X.Y.Z>-slim-<codename>`` image: the wheels carry the CUDA libraries and the host brings
only the driver. A system CUDA toolkit gets ``nvidia/cuda:<version>-cudnn-(runtime|devel)-ubuntu…``
with the exact Python put in (a python-build-standalone interpreter installed by a pinned uv). A
conda environment gets the same official Python image: its Python only runs py-rattler in the
conda stage (`envsnap.render.condastage`) and envsnap's own venv; the captured environment,
its own Python included, comes from the locked conda files. ``--base-image`` overrides the
choice (the conda stage stays).

`pin` then pins the chosen base by the registry digest that the last build recorded in
``image.toml`` (tags move and vanish): ``FROM python:3.11.7-slim-bookworm@sha256:…``. A base with
no registry digest (built or imported locally) is not pinned: ``FROM sha256:<image ID>`` works
only on the daemon that holds that image, and only with the classic builder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._record import Record, record, replace
from .._regex import lazy
from ..cudause import cuda_users
from ..cudause import is_system as _system
from ..cudause import is_wheel as _wheel
from ..cudause import system_cuda as _system_cuda
from ..errors import InputError
from ..model import Environment
from .validate import check_image, check_text, check_version

if TYPE_CHECKING:
    from ..formats.image import ImageRecord

__all__ = [
    "DEFAULT_DEBIAN",
    "DEFAULT_UBUNTU",
    "UV_IMAGE",
    "BaseChoice",
    "choose",
    "pin",
    "repository",
]

_PY_VERSION = lazy(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?$")
DEBIAN_CODENAMES = ("bullseye", "bookworm", "trixie")
DEFAULT_DEBIAN = "bookworm"
UBUNTU_VERSIONS = ("20.04", "22.04", "24.04")
DEFAULT_UBUNTU = "22.04"
# uv pins the python-build-standalone release (and its sha256) for every Python it installs.
UV_IMAGE = "ghcr.io/astral-sh/uv:0.13.9"


@record
class BaseChoice(Record):
    """The base image, why it was chosen, and how Python is found in it.

    `kind` is ``python`` (official Python image), ``cuda`` (nvidia/cuda plus a uv-installed
    Python in /opt/python), ``conda`` (the official Python image; the environment, linked by
    py-rattler from the locked files, in /opt/conda) or
    ``override`` (``--base-image``: its ``python3`` is used as is). `digest` (``sha256:…``) pins
    the image when set; `pin_note` says why it is pinned or why not (empty: nothing recorded).
    """

    image: str
    kind: str
    reason: str
    python: str
    digest: str = ""
    pin_note: str = ""

    @property
    def ref(self) -> str:
        """The reference the Dockerfile's FROM lines use: the image, ``@digest`` when pinned."""
        return f"{self.image}@{self.digest}" if self.digest else self.image


def _debian(env: Environment) -> tuple[str, str]:
    codename = env.os.codename.lower()
    if env.os.distro.lower() == "debian" and codename in DEBIAN_CODENAMES:
        return codename, f"the capture ran on Debian {codename}"
    seen = env.os.pretty_name or env.os.distro or env.os.system or "an unknown OS"
    return DEFAULT_DEBIAN, f"the capture ran on {seen}; Debian {DEFAULT_DEBIAN} is the default"


def _cuda_tag(env: Environment) -> tuple[str, str] | None:
    """Return (image, reason) when the capture loads a system CUDA, else None."""
    found = _system_cuda(env)
    if found is None:
        return None
    version = check_version(found, "pylock.toml: cuda component version")
    parts = version.split(".")
    if len(parts) == 2:
        parts.append("0")
    tag_version = ".".join(parts[:3])
    cudnn = env.cuda.component("cudnn")
    flavour = "cudnn"
    if cudnn is not None and cudnn.version.split(".")[0] == "8":
        flavour = "cudnn8"
    toolkit = env.cuda.component("cuda-toolkit")
    variant = "devel" if toolkit is not None and _system(toolkit.source) else "runtime"
    ubuntu = env.os.version if env.os.distro.lower() == "ubuntu" else ""
    if ubuntu not in UBUNTU_VERSIONS:
        ubuntu = DEFAULT_UBUNTU
    image = f"nvidia/cuda:{tag_version}-{flavour}-{variant}-ubuntu{ubuntu}"
    why = (
        f"the capture loads a system CUDA {version}"
        + (f" with cuDNN {cudnn.version}" if cudnn is not None else "")
        + (" and the toolkit (nvcc): devel image" if variant == "devel" else ": runtime image")
        + f"; Python {env.python.version} is put in by uv (python-build-standalone)"
    )
    return image, why


def choose(env: Environment, override: str | None = None) -> BaseChoice:
    """Return the base image for *env*; *override* (``--base-image``) wins when given."""
    version = env.python.version
    if not isinstance(version, str) or not _PY_VERSION.match(version):
        raise InputError(f"pylock.toml: python.version: invalid Python version {version!r}")
    if override:
        image = check_image(override, "--base-image")
        return BaseChoice(image, "override", "chosen with --base-image", "python3")
    codename, where = _debian(env)
    if env.conda is not None:
        why = (
            "the capture is a conda environment: py-rattler links the locked conda files into "
            f"/opt/conda (no solver, no download), then pip adds the PyPI packages; {where}"
        )
        image = check_image(f"python:{version}-slim-{codename}", "python base image")
        return BaseChoice(image, "conda", check_text(why, "reason"), "python")
    cuda = _cuda_tag(env)
    if cuda is not None:
        image = check_image(cuda[0], "CUDA base image")
        return BaseChoice(image, "cuda", check_text(cuda[1], "reason"), "/opt/python/bin/python3")
    if any(_wheel(c.source) for c in env.cuda.components):
        what = "CUDA comes only from nvidia-* wheels (the host brings the driver)"
    elif any(_system(c.source) for c in env.cuda.components) and cuda_users(env):
        what = (
            "the frameworks bring their own CUDA libraries (a CUDA toolkit is on the host, "
            "but nothing here loads it)"
        )
    elif any(_system(c.source) for c in env.cuda.components):
        what = "CPU-only capture (a CUDA toolkit is on the host, but nothing here uses it)"
    else:
        what = "CPU-only capture"
    why = f"{what}; {where}; the official image has exactly Python {version}"
    image = check_image(f"python:{version}-slim-{codename}", "python base image")
    return BaseChoice(image, "python", check_text(why, "reason"), "python")


def repository(image: str) -> str:
    """The repository of an image reference, without tag or digest, in its familiar form
    (``docker.io/library/python:3.11`` and ``python`` are both ``python``)."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    if ":" in last:  # a tag, not a registry port (that one sits before a slash)
        name = (head + "/" if head else "") + last.rsplit(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def pin(choice: BaseChoice, record: ImageRecord | None, source: str = "image.toml") -> BaseChoice:
    """Pin *choice* by the registry digest in *record* (the last build's image.toml, named
    *source*) when it recorded one for the same base; otherwise say why it is not pinned."""
    if record is None or record.base_image != choice.image or "@" in choice.image:
        return choice
    from ..formats.image import split_digest

    found = split_digest(record.base_digest)
    if found is None:
        local = record.base_image_id[:19] + "\u2026" if record.base_image_id else "unknown"
        note = (
            f"Not pinned by digest: {source} records no registry digest for this base (a local "
            f"image, ID {local}); FROM by image ID would work on that daemon only"
        )
        return replace(choice, pin_note=note)
    repo, digest = found
    if repository(repo) != repository(choice.image):
        note = f"Not pinned by digest: the digest in {source} is for {repo}, not this base"
        return replace(choice, pin_note=check_text(note, source))
    check_image(f"{choice.image}@{digest}", f"{source}: base-digest")
    note = (
        f"Pinned by digest from {source}: the base the last build resolved (tags move); "
        "--no-pin follows the tag"
    )
    return replace(choice, digest=digest, pin_note=note)
