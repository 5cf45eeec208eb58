"""`rebuild`: turn a capture into a Docker build context and image, a virtualenv or a conda prefix.

`rebuild` reads DIR (pylock.toml, conda-lock.yml), checks what every flow needs, and hands the
capture to the image flow (`envsnap.rebuild.image`), the venv flow (`envsnap.rebuild.venv`) or
the conda prefix flow (`envsnap.rebuild.prefix`), each imported when used. What they return is a
record of its own kind (`envsnap.rebuild.result`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .inputs import (
    IMAGE_RECORD,
    MISSING_LABEL,
    check_cert,
    load_capture,
    load_record,
    project_origin,
    require_installable,
)
from .result import ContextRendered, ImageBuilt, PrefixBuilt, RebuildResult, VenvBuilt

__all__ = [
    "IMAGE_RECORD",
    "MISSING_LABEL",
    "ContextRendered",
    "ImageBuilt",
    "PrefixBuilt",
    "RebuildResult",
    "VenvBuilt",
    "load_capture",
    "load_record",
    "project_origin",
    "rebuild",
    "require_installable",
]


def rebuild(
    directory: str | os.PathLike[str],
    *,
    tag: str | None = None,
    context: str | Path | None = None,
    build: bool = True,
    wheelhouse: bool = True,
    base_image: str | None = None,
    ca_cert: str | Path | None = None,
    venv: str | Path | None = None,
    prefix: str | Path | None = None,
    python: str | None = None,
    pin: bool = True,
    no_cache: bool = False,
    verbose: bool = False,
    progress: Callable[[str], None] | None = None,
    push: str | None = None,
    build_on_host: Iterable[str] = (),
    allow_missing: bool = False,
) -> RebuildResult:
    """Rebuild the capture in *directory* as an image (or a venv); see `envsnap rebuild -h`.

    *wheelhouse* (the default) fetches every locked file here, hash-checked, so that the build
    needs no network; False lets pip in the build download them (``--fetch-in-build``).
    *push* (an image reference ``[registry/]name[:tag]``) pushes the built image there and
    records the registry's digest in image.toml. Nothing is built on this machine for an
    image: local folders, VCS commits and sdists are built in the isolated build. A local
    folder is used only when named in *build_on_host* or when it is the capture's own project
    (`envsnap.rebuild.trust`); a venv builds here, so a VCS commit or an sdist on this machine
    must be named too.

    A lock with packages that cannot be installed (the result's `skipped`) is refused unless
    *allow_missing*; an image built without them lists them in its ``io.envsnap.missing`` label.
    Returns `ContextRendered` (not *build*), `ImageBuilt`, `VenvBuilt` (*venv*) or `PrefixBuilt`
    (*prefix*, a conda prefix).
    """
    from .image import check_push, rebuild_image

    say = progress or (lambda _m: None)
    if push is not None:
        check_push(push, build=build, venv=venv if prefix is None else prefix)
    capture_dir = Path(directory)
    started = time.perf_counter()
    env = load_capture(capture_dir)
    load_ms = round((time.perf_counter() - started) * 1000, 1)
    cert = Path(ca_cert) if ca_cert else None
    if cert is not None:
        check_cert(cert)
    if prefix is not None:
        from .prefix import rebuild_host_prefix

        return rebuild_host_prefix(
            env,
            capture_dir,
            Path(prefix),
            ca_cert=cert,
            build_on_host=build_on_host,
            allow_missing=allow_missing,
            say=say,
        )
    if venv is not None:
        from .venv import rebuild_venv

        return rebuild_venv(
            env,
            capture_dir,
            venv,
            python=python,
            ca_cert=cert,
            say=say,
            build_on_host=build_on_host,
            allow_missing=allow_missing,
        )
    return rebuild_image(
        env,
        capture_dir,
        tag=tag,
        context=context,
        build=build,
        wheelhouse=wheelhouse,
        base_image=base_image,
        cert=cert,
        pin=pin,
        allow_missing=allow_missing,
        no_cache=no_cache,
        verbose=verbose,
        say=say,
        load_ms=load_ms,
        push=push,
        build_on_host=tuple(build_on_host),
    )
