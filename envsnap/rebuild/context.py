"""Write a Docker build context for a plan: Dockerfile, capture, requirements, wheels, tool.

Layout (every path fixed; nothing from the lock names a path in it, only validated file names)::

    Dockerfile
    capture/                 pylock.toml, requirements.txt, hardware.toml, conda-lock.yml
    layers/<layer>/          per install layer (heavy, large, packages, local): requirements.txt
                             with hashed pins and the locked files fetched on the host (all of
                             them unless --fetch-in-build); for the local layer also the build
                             requirements' wheels, src/<name>/ (a trusted local folder or a
                             VCS commit, built in the build) and sources.txt; one COPY each
    tool/                    envsnap and its dependencies as wheels, for /opt/envsnap
    ca.pem                   the --ca-cert certificate (used only in the build stages)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from .. import _cache
from .._io import index_cache_key
from .._record import Record, record
from .._text import plural
from ..errors import InputError
from ..formats.capture import KINDS
from ..model import Environment
from ..render.dockerfile import CACHE_DIR, MARKER, render, source_dir
from ..render.plan import Install, Layer, Layout, Plan

__all__ = [
    "CAPTURE_FILES",
    "MARKER",
    "Context",
    "prepare_dir",
    "write_context",
    "write_packages",
]

# What the image holds of the capture (and checks itself against): the registry's in_image kinds.
CAPTURE_FILES = tuple(sorted(k.name for k in KINDS if k.in_image))
_OURS = ("Dockerfile", "capture", "layers", "tool", "ca.pem")


@record
class Context(Record):
    """What was written into the build context."""

    path: Path
    dockerfile: str
    files: tuple[str, ...]


def prepare_dir(out: Path) -> None:
    """Make *out* ready for a context: new, empty, or an earlier envsnap context (cleared);
    never a symbolic link (the context is written through it otherwise)."""
    from .._io import open_folder, read_at, refuse_link

    refuse_link(out, "--context")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --context exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        folder = open_folder(out)
        try:
            head = read_at(folder, "Dockerfile", len(MARKER)) or b""
        finally:
            os.close(folder)
        if not head.startswith(MARKER.encode()):
            raise InputError(f"{out}: --context is not empty and not an envsnap build context")
        for name in _OURS:
            p = out / name
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _write(path: Path, text: str) -> None:
    # A build context is scratch input for one build: no fsync (write_atomic's) needed here.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _hash_lines(hashes: list[str]) -> list[str]:
    return [f"    --hash=sha256:{h}" for h in sorted(set(hashes))]


def _requirement(item: Install, plan: Plan | Layout) -> str:
    pkg = item.package
    head = f"{item.name}=={item.version}"
    if pkg.source == "url":
        assert pkg.archive_sha256 is not None
        hashes = [pkg.archive_sha256]
        if item.how == "url" and not plan.wheelhouse:
            head = f"{item.name} @ {pkg.url}"
    else:
        hashes = [f.sha256 for f in pkg.files if f.sha256]
    return " \\\n".join([head, *_hash_lines(hashes)])


def _sdist_only(item: Install) -> bool:
    pkg = item.package
    names = [f.name for f in pkg.files if f.sha256] if pkg.source == "index" else [pkg.url or ""]
    return bool(names) and not any(n.endswith(".whl") for n in names)


def plan_layer(plan: Plan | Layout, item: Install) -> Layer:
    """The layer that installs *item*."""
    return next(ly for ly in plan.layers if ly.name == item.layer)


def _requirements_text(layer: Layer, plan: Plan | Layout) -> str:
    lines = [f"# {MARKER[2:]}: layer {layer.name!r}; do not edit"]
    if not layer.no_index and plan.indexes:
        lines.append(f"--index-url {plan.indexes[0]}")
        lines += [f"--extra-index-url {u}" for u in plan.indexes[1:]]
    items = [i for i in plan.installs if i.layer == layer.name and i.how != "source"]
    lines += [_requirement(i, plan) for i in items]
    return "\n".join(lines) + "\n"


def _sources_text(layer: Layer, plan: Plan | Layout) -> str:
    lines = [f"# {MARKER[2:]}: built from the source trees in src/; do not edit"]
    lines += [f"{i.name}=={i.version}" for i in plan.installs if i.name in layer.sources]
    return "\n".join(lines) + "\n"


def _seed_hash_cache(plan: Plan, capture: Path) -> list[str]:
    """The lock's index answers as envsnap's hash cache, so a capture in the image pins the
    same files offline: pip verified every installed file against these hashes."""
    out = []
    for item in plan.installs:
        pkg = item.package
        if item.how not in ("index", "file", "sdist") or not pkg.index or not pkg.files:
            continue
        key = index_cache_key(pkg.index, pkg.name, pkg.version)
        rel = _cache.entry(Path(CACHE_DIR, "index"), key, fan_out=True).as_posix()
        _write(capture / rel, _cache.entry_text({"files": [f.to_dict() for f in pkg.files]}))
        out.append(f"capture/{rel}")
    return out


def _copy_capture(capture_dir: Path, dest: Path) -> list[str]:
    """Copy the capture's files into the context through the in door: regular files of their
    kind's size only, never through a symlink (a link to ~/.ssh/id_rsa would otherwise land in
    the image)."""
    from ..formats.capture import file_bytes, kind

    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in CAPTURE_FILES:
        src = capture_dir / name
        if not src.exists() and not src.is_symlink():
            continue
        (dest / name).write_bytes(file_bytes(src, what=name, limit=kind(name).limit))
        copied.append(f"capture/{name}")
    return copied


def _source_tree(
    item: Install,
    dest: Path,
    *,
    folders: Mapping[str, Path],
    exclude: tuple[Path, ...],
    say: Callable[[str], None],
) -> None:
    """Put *item*'s source tree into *dest*: its trusted folder copied, or its commit exported."""
    from .sources import copy_project, export_commit

    pkg = item.package
    if pkg.source == "vcs":
        assert pkg.url is not None and pkg.commit_id is not None
        say(f"fetching {item.name} {item.version} at commit {pkg.commit_id[:12]}")
        export_commit(item.name, pkg.url, pkg.commit_id, dest, local=item.name in folders)
        return
    if item.name not in folders:
        raise InputError(
            f"{item.name}: its local folder is neither named with --build-on-host nor the "
            f"capture's own project; refused (pass --build-on-host {item.name} if you trust it)"
        )
    count, size = copy_project(folders[item.name], dest, exclude=exclude)
    say(f"copied {count} files ({size / 1e6:.1f} MB) of {folders[item.name]}")


def _build_requirements(
    env: Environment,
    layer: Layer,
    plan: Plan | Layout,
    *,
    out: Path,
    python_version: str,
    say: Callable[[str], None],
) -> list[str]:
    """Fetch the build requirements of the layer's sdists and source trees into its folder."""
    from . import builddeps
    from .wheelhouse import locked_name

    wheels = out / layer.wheels
    sets = []
    for item in plan.installs:
        if item.layer != layer.name:
            continue
        if item.how == "source":
            tree = out / source_dir(layer, item.name)
            sub = item.package.subdirectory if item.package.source == "vcs" else None
            sets.append(builddeps.tree_requires(tree / sub if sub else tree, item.name))
        elif item.how == "sdist":
            archive = wheels / locked_name(item, env)
            sets.append(builddeps.sdist_requires(archive, f"{item.name} {archive.name}"))
    names = builddeps.fetch(sets, wheels, python_version, say)
    return [f"{layer.wheels}/{n}" for n in names]


def write_packages(
    env: Environment,
    plan: Plan | Layout,
    capture_dir: Path,
    out: Path,
    *,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
    folders: Mapping[str, Path] | None = None,
    python_version: str | None = None,
) -> list[str]:
    """Write each layer's requirements file and wheels folder under *out*; return the paths.

    The locked files go in hash-checked; nothing is built. *folders* are the trusted local
    folders (`envsnap.rebuild.trust`): with them, the layer's source packages get their trees
    under ``src/`` and a ``sources.txt`` (an image). *python_version* (the image's Python)
    also fetches the build requirements of the sdists and source trees, so that pip builds
    them without an index; without it (a venv) pip on this machine fetches them itself.
    """
    say = progress or (lambda _m: None)
    files: list[str] = []
    for layer in plan.layers:
        items = [i for i in plan.installs if i.layer == layer.name]
        wheels = out / layer.wheels
        fetch = [
            i
            for i in items
            if i.how in ("file", "sdist") or (plan.wheelhouse and i.how in ("index", "url"))
        ]
        if fetch:
            from .wheelhouse import fetch_all  # network and TLS modules: only when needed

            say(f"fetching {plural(len(fetch), 'locked file')} for layer {layer.name}")
            names = fetch_all(fetch, env, wheels, capture_dir, ca_cert=ca_cert, progress=say)
            files += [f"{layer.wheels}/{n}" for n in names]
        for item in (i for i in items if i.how in ("index", "url") and _sdist_only(i)):
            say(
                f"{item.name} {item.version} is locked as an sdist only: pip builds it in the "
                "image with a build backend from the index (without --fetch-in-build, the "
                "build needs no index for it)"
            )
        if folders is not None:
            exclude = (out, capture_dir)
            for item in (i for i in items if i.how == "source"):
                dest = out / source_dir(layer, item.name)
                _source_tree(item, dest, folders=folders, exclude=exclude, say=say)
                files.append(f"{source_dir(layer, item.name)}/")
        if python_version is not None and layer.name == "local":
            files += _build_requirements(
                env, layer, plan, out=out, python_version=python_version, say=say
            )
        if layer.local:
            wheels.mkdir(parents=True, exist_ok=True)
        if layer.hashed:
            _write(out / layer.requirements, _requirements_text(layer, plan))
            files.append(layer.requirements)
        if layer.sources and folders is not None:
            _write(out / layer.source_list, _sources_text(layer, plan))
            files.append(layer.source_list)
    return files


def write_context(
    env: Environment,
    plan: Plan,
    capture_dir: Path,
    out: Path,
    *,
    ca_cert: Path | None = None,
    progress: Callable[[str], None] | None = None,
    folders: Mapping[str, Path] | None = None,
) -> Context:
    """Write the whole build context for *plan* into *out* (prepared with `prepare_dir`).

    *folders* are the local folders the user trusts (`envsnap.rebuild.trust.trusted_folders`).
    """
    from .toolwheels import write_tool

    if ca_cert is not None and not ca_cert.is_file():
        raise InputError(f"{ca_cert}: --ca-cert file not found")
    # The Dockerfile first: its marker lets a later run clear a context this one left half done.
    text = render(env, plan)
    _write(out / "Dockerfile", text)
    files = ["Dockerfile", *_copy_capture(capture_dir, out / "capture")]
    files += _seed_hash_cache(plan, out / "capture")
    if plan.conda and "capture/conda-lock.yml" not in files:
        raise InputError(f"{capture_dir / 'conda-lock.yml'}: conda capture without its lock file")
    files += write_packages(
        env,
        plan,
        capture_dir,
        out,
        ca_cert=ca_cert,
        progress=progress,
        folders=folders or {},
        python_version=plan.python_version,
    )
    if env.conda is not None and plan.conda:
        from .condacontext import write_conda

        files += write_conda(
            env.conda,
            out,
            capture_dir,
            python_version=plan.python_version,
            ca_cert=ca_cert,
            progress=progress,
        )
    write_tool(out / "tool", plan.python_version, progress=progress)
    files += sorted(f"tool/{p.name}" for p in (out / "tool").iterdir())
    if ca_cert is not None:
        shutil.copyfile(ca_cert, out / "ca.pem")
        files.append("ca.pem")
    return Context(out, text, tuple(sorted(files)))
