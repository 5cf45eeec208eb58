"""The image flow of `rebuild`: plan and render the build context, build it, record, push.

The context is handed to the image engine through its interface (`envsnap.engine.get_engine`,
imported lazily) and what was built is recorded in ``DIR/image.toml``; the next rebuild reads it
back to pin the base image by its registry digest (unless ``pin=False``). A temporary context is
removed in every case, Ctrl-C included.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from .._record import replace
from ..errors import EnvsnapError, InputError
from .inputs import (
    IMAGE_RECORD,
    MISSING_LABEL,
    load_record,
    project_origin,
    require_installable,
)
from .result import ContextRendered, ImageBuilt

TYPE_CHECKING = False  # keeps `typing` off the import; mypy and ruff read this name
if TYPE_CHECKING:
    from ..engine import Done, Engine
    from ..formats.image import ImageRecord
    from ..model import Environment
    from ..render.plan import Plan
    from .context import Context

__all__ = ["check_push", "rebuild_image"]


def check_push(ref: str, *, build: bool, venv: str | Path | None) -> None:
    """Refuse --push where nothing is built (*venv* given, or not *build*) or a *ref* that is
    no image reference."""
    from ..formats.image import split_reference

    if venv is not None or not build:
        raise InputError(
            "--push: only meaningful when building an image "
            "(not with --venv, --prefix or --no-build)"
        )
    if split_reference(ref) is None:
        raise InputError(
            f"--push: not an image reference: {ref!r:.120}",
            hint="[registry[:port]/]name[:tag], lower-case name, no digest",
        )


def rebuild_image(
    env: Environment,
    capture_dir: Path,
    *,
    tag: str | None,
    context: str | Path | None,
    build: bool,
    wheelhouse: bool,
    base_image: str | None,
    cert: Path | None,
    pin: bool,
    allow_missing: bool,
    no_cache: bool,
    verbose: bool,
    say: Callable[[str], None],
    load_ms: float,
    push: str | None = None,
    build_on_host: tuple[str, ...] = (),
) -> ContextRendered | ImageBuilt:
    """Render the build context of *env* and, when *build*, build it and record the image in
    image.toml (then push it to *push*); see `envsnap.rebuild.rebuild`."""
    from ..render.dockerfile import render
    from .trust import trusted_folders

    recorded = load_record(capture_dir) if pin else None
    origin = project_origin(capture_dir)
    started = time.perf_counter()  # render: plan, Dockerfile and context (not the lock's parse)
    digest = _lock_digest(capture_dir)
    plan = _plan(
        env,
        capture_dir,
        digest,
        wheelhouse=wheelhouse,
        base_image=base_image,
        cert=cert,
        origin=origin,
        recorded=recorded,
        allow_missing=allow_missing,
    )
    only_dockerfile = not build and context is None
    if only_dockerfile:  # the Dockerfile goes to stdout: say the base here
        say(f"base image {plan.base.ref}: {plan.base.reason}")
    if plan.base.pin_note:
        say(plan.base.pin_note)
    if only_dockerfile:
        # Only the Dockerfile is asked for: it is made from the plan alone, so nothing is
        # fetched or built (no wheel of a local folder, no tool wheels) for a context no one keeps.
        return _rendered(plan, render(env, plan), started, load_ms)
    folders = trusted_folders(plan.installs, env, capture_dir, build_on_host, venv=False, say=say)
    engine = _engine() if build else None
    temp = context is None
    out = Path(tempfile.mkdtemp(prefix="envsnap-context-")) if temp else Path(str(context))
    try:
        ctx = _write(env, plan, capture_dir, out, fresh=temp, cert=cert, say=say, folders=folders)
        kept = None if temp else str(out)
        rendered = _rendered(plan, ctx.dockerfile, started, load_ms, context=kept, files=ctx.files)
        if engine is None:
            return rendered
        done = _build(engine, out, plan, tag=tag, verbose=verbose, no_cache=no_cache, say=say)
        built = _record(rendered, done, capture_dir, tag, digest)
        return _push(engine, built, push, capture_dir, say) if push else built
    finally:
        if engine is not None:
            engine.close()
        if temp:
            shutil.rmtree(out, ignore_errors=True)


def _ms_since(started: float) -> float:
    """Milliseconds since the `time.perf_counter` reading *started*, to 0.1 ms."""
    return round((time.perf_counter() - started) * 1000, 1)


def _lock_digest(capture_dir: Path) -> str:
    """The sha256 of DIR/pylock.toml, as read (bounded) through the in door's reader."""
    from .._io import read_bytes_bounded

    lock_bytes = read_bytes_bounded(capture_dir / "pylock.toml", what="pylock.toml")
    return hashlib.sha256(lock_bytes).hexdigest()


def _plan(
    env: Environment,
    capture_dir: Path,
    digest: str,
    *,
    wheelhouse: bool,
    base_image: str | None,
    cert: Path | None,
    origin: tuple[str | None, str | None],
    recorded: ImageRecord | None,
    allow_missing: bool,
) -> Plan:
    """The image's plan, refused when the lock cannot be installed; with *allow_missing*,
    labelled with what it leaves out."""
    from ..render.plan import make_plan

    source, revision = origin
    plan = make_plan(
        env,
        lock_digest=digest,
        base_image=base_image,
        wheelhouse=wheelhouse,
        ca_cert=cert is not None,
        source=source,
        revision=revision,
        recorded=recorded,
    )
    lock = capture_dir / "pylock.toml"
    require_installable(plan.skipped, len(env.packages), lock, allow_missing=allow_missing)
    if plan.skipped:
        label = (MISSING_LABEL, ", ".join(plan.skipped))
        plan = replace(plan, labels=tuple(sorted((*plan.labels, label))))
    return plan


def _rendered(
    plan: Plan,
    dockerfile: str,
    started: float,
    load_ms: float,
    *,
    context: str | None = None,
    files: tuple[str, ...] = (),
) -> ContextRendered:
    """The record of a context rendered from *plan* (written to *context* when kept)."""
    return ContextRendered(
        base_image=plan.base.image,
        base_ref=plan.base.ref,
        base_pin=plan.base.pin_note,
        base_reason=plan.base.reason,
        dockerfile=dockerfile,
        context=context,
        files=files,
        installed=tuple(i.name for i in plan.installs),
        skipped=plan.skipped,
        load_ms=load_ms,
        render_ms=_ms_since(started),
    )


def _write(
    env: Environment,
    plan: Plan,
    capture_dir: Path,
    out: Path,
    *,
    fresh: bool,
    cert: Path | None,
    say: Callable[[str], None],
    folders: Mapping[str, Path],
) -> Context:
    """Write the build context into *out* (emptied first unless *fresh*); an unwritable
    --context or a full disk is bad input (exit 2)."""
    from .context import prepare_dir, write_context

    try:
        if not fresh:
            prepare_dir(out)
        return write_context(
            env, plan, capture_dir, out, ca_cert=cert, progress=say, folders=folders
        )
    except OSError as exc:
        where = exc.filename or out
        raise InputError(f"{where}: cannot write the build context ({exc.strerror})") from None


def _engine() -> Engine:
    """The image engine, connected: a build that cannot run fails before the render."""
    from ..engine import get_engine

    try:
        engine = get_engine()
    except ImportError:
        raise EnvsnapError(
            "building images is not available in this envsnap (envsnap.engine.docker missing)",
            hint="render the context only with --no-build --context DIR",
        ) from None
    try:
        engine.ready()
    except BaseException:
        engine.close()
        raise
    return engine


def _build(
    engine: Engine,
    context: Path,
    plan: Plan,
    *,
    tag: str | None,
    verbose: bool,
    no_cache: bool,
    say: Callable[[str], None],
) -> Done:
    """Build *context* through the image engine, showing progress; return its `Done` event.

    A build that needs no network (every file in the context, a base with its Python) runs
    with none: nothing in it can reach an index, or anything else.
    """
    from ..engine import Done, StepFailed
    from ..engine.progress import format_event
    from ..render.plan import needs_network

    done = None
    try:
        events = engine.build(
            context, tag=tag, verbose=verbose, no_cache=no_cache, network=needs_network(plan)
        )
        for event in events:
            if isinstance(event, Done):
                done = event
                continue
            line = format_event(event, verbose=verbose)
            if line is not None:
                say(line)
    except StepFailed as exc:
        if exc.hint is None:
            from .failure import failure_hint

            exc.hint = failure_hint(exc.tail, plan)
        raise
    if done is None or not done.image_id:
        raise EnvsnapError("the Docker build ended without an image id", exit_code=1)
    return done


def _record(
    rendered: ContextRendered, done: Done, capture_dir: Path, tag: str | None, digest: str
) -> ImageBuilt:
    """Record the image *done* reports in DIR/image.toml, with the base's registry digest."""
    from ..formats.image import ImageRecord, split_digest, write

    # A registry digest (name@sha256:…) pins the base next time; the local image ID only
    # identifies it on this daemon (FROM by ID is classic-builder only and not portable).
    base_digest = done.base_digest if split_digest(done.base_digest) else ""
    base_id = done.base_image_id
    record = ImageRecord(
        image_id=done.image_id,
        base_image=rendered.base_image,
        base_digest=base_digest,
        base_image_id=base_id if re.fullmatch(r"sha256:[0-9a-f]{64}", base_id) else "",
        tag=tag or "",
        lock_digest=f"sha256:{digest}",
    )
    path = write(capture_dir / IMAGE_RECORD, record)
    return ImageBuilt(
        rendered=rendered,
        image_id=done.image_id,
        base_digest=base_digest,
        tag=tag or "",
        image_record=str(path),
    )


def _push(
    engine: Engine,
    built: ImageBuilt,
    ref: str,
    capture_dir: Path,
    say: Callable[[str], None],
) -> ImageBuilt:
    """Push the built image to *ref* and add the registry's digest to image.toml."""
    from ..engine.push import Pushed, format_push_event
    from ..formats.image import split_reference, write

    repository, tag = split_reference(ref) or (ref, "latest")
    pushed: Pushed | None = None
    for event in engine.push(built.image_id, repository, tag):
        if isinstance(event, Pushed):
            pushed = event
        line = format_push_event(event)
        if line is not None:
            say(line)
    if pushed is None:  # parse_push_stream raises first; this is for a foreign engine
        raise EnvsnapError(f"docker push {repository}:{tag} reported no digest", exit_code=1)
    record = load_record(capture_dir)
    if record is not None:
        reference = f"{repository}:{tag}"
        write(
            capture_dir / IMAGE_RECORD,
            replace(record, pushed=reference, pushed_digest=pushed.reference),
        )
    return replace(built, pushed=f"{repository}:{tag}", pushed_digest=pushed.reference)
