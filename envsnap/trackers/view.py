"""What an experiment tracker shows of a capture: one view, the same for MLflow, W&B and Aim.

`view` reads a capture once, through the in door (`envsnap.formats.capture.load`), and returns
flat facts under stable names (`FACTS`, from `publish.facts.gather`), the version of every
package, conda's included (so that a tracker's own "compare runs" shows which packages differ),
and the capture's files to attach, as the door read them (a tracker never opens a capture's
path itself). Each tracker only spells the names its own way: MLflow tags ``envsnap.gpu`` and
``envsnap.package.torch``, W&B config keys ``envsnap/gpu`` and ``envsnap/package``, Aim params
``run["envsnap"]["gpu"]``.
Values are ``str``, ``int`` (counts) or ``bool`` (``dirty``, ``repro``); `as_text` gives the one
string form (MLflow tags are strings).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, Union

from envsnap._record import Record, record
from envsnap._redact import text as _shown
from envsnap._text import canonical_name
from envsnap.formats.capture import KINDS

from .._regex import lazy

__all__ = [
    "CAPTURE_FILES",
    "FACTS",
    "MAX_VALUE",
    "Value",
    "Verdict",
    "View",
    "as_text",
    "view",
]

Value = Union[str, int, bool]  # Union: `|` between types needs Python 3.10 at run time

# Every fact a view may hold, in the order trackers show them; a capture that lacks a fact
# (no GPU, no numerics.toml, no git) leaves its name out rather than logging an empty value.
FACTS = (
    "version",  # envsnap's version
    "python",  # "3.11.7"
    "os",  # "Debian GNU/Linux 12 (bookworm)"
    "packages",  # how many packages the lock holds (int)
    "lock_digest",  # "sha256:<hex>" of pylock.toml
    "gpu",  # the GPU models, "NVIDIA A100-SXM4-80GB" (", " between several models)
    "gpu_count",  # int, 0 without GPUs
    "driver",  # the NVIDIA driver, "535.104.05"
    "cuda_driver",  # the CUDA version the driver supports, "12.2"
    "cuda",  # the CUDA the framework was built for, "12.8"
    "frameworks",  # "torch 2.8.0+cu128 (CUDA 12.8)"
    "commit",  # the git commit of the project
    "dirty",  # bool: the work tree had changes
    "determinism",  # the recorded settings, "CUBLAS_WORKSPACE_CONFIG=:4096:8 PYTHONHASHSEED=0"
    "determinism_missing",  # what the frameworks need and the run did not set, or "none"
    "numerics_digest",  # "sha256:<hex>" of the numerics probes (numerics.toml)
    "repro",  # bool: the repro verdict (repro.toml)
    "repro_summary",  # the verdict's one line
    "image",  # the pushed image by digest (image.toml)
)

# The files of a capture that trackers attach (each only when present): every kind the in door
# reads, so that a kind added there (repro.toml) is attached too.
CAPTURE_FILES = tuple(kind.name for kind in KINDS)
MAX_VALUE = 250  # a value is cut here: MLflow's UI and W&B's tables show no more anyway
_PACKAGE = lazy(r"^[a-z0-9][a-z0-9-]{0,99}$")  # a PEP 503 name: a key in every tracker


class Verdict(Protocol):
    """The repro verdict (`repro.toml`'s ``[verdict]`` table): whatever record carries these."""

    @property
    def reproducible(self) -> bool: ...

    @property
    def summary(self) -> str: ...


@record
class View(Record):
    """A capture as a tracker shows it."""

    facts: dict[str, Value]  # name (from FACTS) -> value, in FACTS order
    packages: dict[str, str]  # canonical package name -> version, sorted
    files: dict[str, str]  # file name -> text as the in door read it, in CAPTURE_FILES order


def as_text(value: Value) -> str:
    """The string form of a fact: ``"true"``/``"false"`` for a bool, digits for a count."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _clean(text: str) -> str:
    return _shown(text)[:MAX_VALUE]


def view(directory: str | os.PathLike[str], *, repro: Verdict | None = None) -> View:
    """The view of the capture in *directory*; `InputError` when a file of it is bad.

    ``repro`` and ``repro_summary`` come from *repro*, else from the capture's repro.toml when
    `envsnap repro` recorded it with this capture's lock.
    """
    from envsnap.formats.capture import load
    from envsnap.publish import facts

    root = Path(directory)
    found = load(root)  # the in door: the whole capture read and validated, once
    data = facts.gather(root, found)
    out = _environment(data["environment"])
    if found.hardware is not None and found.hardware.gpus.driver_version:
        out["driver"] = found.hardware.gpus.driver_version
    code = data["code"]
    if code is not None and code["commit"]:
        out["commit"] = code["commit"]
        out["dirty"] = bool(code["dirty"])
    if repro is None and data["repro"] is not None and data["repro"]["lock_matches"]:
        repro = found.part("repro")  # recorded with this capture's lock: another env's says nothing
    if repro is not None:
        out["repro"] = bool(repro.reproducible)
        out["repro_summary"] = repro.summary
    cleaned = {k: _clean(v) if isinstance(v, str) else v for k, v in out.items()}
    # A conda environment's packages first, then pip's: a name is installed once (pip's copy
    # would have replaced conda's), and a tracker compares runs by these names.
    env = found.environment
    named = {canonical_name(p.name): p.version for p in (env.conda.packages if env.conda else ())}
    named |= {canonical_name(p.name): p.version or p.source for p in env.packages}
    packages = {name: _clean(named[name]) for name in sorted(named) if _PACKAGE.match(name)}
    return View(
        facts={name: cleaned[name] for name in FACTS if name in cleaned},
        packages=packages,
        files={
            name: found.data[name].decode("utf-8") for name in CAPTURE_FILES if name in found.data
        },
    )


def _environment(env: dict[str, Any]) -> dict[str, Value]:
    """The facts of the report's ``environment`` section, flattened."""
    from envsnap import __version__

    hw = env["hardware"]
    groups = hw.get("gpus") or []
    frameworks = env["frameworks"]
    out: dict[str, Value] = {
        "version": __version__,
        "python": env["python"].split(" ")[-1],
        "os": env["os"],
        "packages": env["packages"],
        "lock_digest": f"sha256:{env['lock_sha256']}",
        "gpu_count": sum(g["count"] for g in groups),
    }
    if groups:
        out["gpu"] = ", ".join(g["name"] for g in groups)
    if hw.get("cuda_driver"):
        out["cuda_driver"] = hw["cuda_driver"]
    cuda = next((f["cuda"] for f in frameworks if f["cuda"]), "")
    if cuda:
        out["cuda"] = cuda
    if frameworks:
        out["frameworks"] = ", ".join(
            f"{f['name']} {f['version']}" + (f" (CUDA {f['cuda']})" if f["cuda"] else "")
            for f in frameworks
        )
    recorded, missing = env["determinism"]["set"], env["determinism"]["missing"]
    out["determinism"] = " ".join(f"{k}={v}" for k, v in sorted(recorded.items())) or "none"
    out["determinism_missing"] = " ".join(f"{m['var']}={m['value']}" for m in missing) or "none"
    numerics = env["numerics"]
    if numerics is not None:
        out["numerics_digest"] = f"sha256:{numerics['digest']}"
    image = env["image"]
    if image is not None and image["pushed_digest"] and image["lock_matches"]:
        out["image"] = image["pushed_digest"]
    return out
