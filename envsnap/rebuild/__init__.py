"""`rebuild`: turn a capture into a Docker build context and image, or into a virtualenv.

Reads DIR (pylock.toml, conda-lock.yml), plans and renders the build context, hands it to the
image engine through its interface (`envsnap.engine.get_engine`, imported lazily) and records
what was built in ``DIR/image.toml``; the next rebuild reads it back to pin the base image by its
registry digest (unless ``pin=False``). A temporary context is removed in every case, Ctrl-C
included.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._record import Record, fields, record
from ..errors import EnvsnapError, InputError
from ..model import Environment, replace

if TYPE_CHECKING:
    from ..engine import Engine
    from ..formats.image import ImageRecord
    from ..render.plan import Plan

__all__ = [
    "IMAGE_RECORD",
    "MISSING_LABEL",
    "RebuildResult",
    "load_capture",
    "load_record",
    "project_origin",
    "rebuild",
    "require_installable",
]

IMAGE_RECORD = "image.toml"
# The image label that lists what --allow-missing left out, so the image says it is incomplete.
MISSING_LABEL = "io.envsnap.missing"


def require_installable(
    skipped: tuple[str, ...], total: int, lock: Path, *, allow_missing: bool
) -> None:
    """Refuse, in one line that says how to fix it, a lock with packages no install can
    reproduce (unhashed index packages of an offline capture, URLs without a hash...), unless
    *allow_missing*."""
    if not skipped or allow_missing:
        return
    from .._text import some

    noun = "package" if total == 1 else "packages"
    raise InputError(
        f"{lock}: {len(skipped)} of {total} {noun} cannot be installed from the lock "
        f"({some(list(skipped))}): capture online so that they are pinned by hash, or rebuild "
        "with --allow-missing to leave them out"
    )


@record
class RebuildResult(Record):
    """What rebuild did. `kind` is ``image``, ``context`` (``--no-build``), ``venv`` or ``prefix``.

    `load_ms` is the time to read the capture, `render_ms` the time to plan and write the
    build context (Dockerfile, requirements, fetched or built files, the tool wheels).
    `base_image` is the base as chosen (a tag), `base_ref` what the FROM lines use (with
    ``@sha256:…`` when pinned from image.toml), `base_pin` why it is pinned or not.
    `base_digest` is the registry digest the daemon resolved for the base, empty when it has none.
    `pushed` is the reference the image was pushed to (``--push``), `pushed_digest` the
    ``repository@sha256:…`` the registry answered.
    """

    kind: str
    base_image: str = ""
    base_ref: str = ""
    base_pin: str = ""
    base_reason: str = ""
    dockerfile: str = ""
    context: str | None = None
    files: tuple[str, ...] = ()
    image_id: str = ""
    base_digest: str = ""
    tag: str = ""
    venv: str = ""
    prefix: str = ""  # rebuild --prefix: the conda prefix made
    installed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    image_record: str = ""
    load_ms: float = 0.0
    render_ms: float = 0.0
    pushed: str = ""
    pushed_digest: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a versioned JSON-ready dict of this result."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["version"] = 1
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def load_capture(directory: Path) -> Environment:
    """Read DIR/pylock.toml (and DIR/conda-lock.yml when present) into an `Environment`,
    through the in door."""
    from ..formats.capture import load

    return load(directory, parts=("conda",)).environment


def load_record(directory: Path) -> ImageRecord | None:
    """The last build's DIR/image.toml, or None when there is none; a bad file is an
    `InputError` naming it."""
    path = directory / IMAGE_RECORD
    if not path.exists() and not path.is_symlink():
        return None
    from ..formats import image

    return image.load(path)


def _check_cert(cert: Path) -> None:
    """Refuse a --ca-cert that is missing or holds no PEM certificate (pip would fail later)."""
    import ssl

    if not cert.is_file():
        raise InputError(f"{cert}: --ca-cert file not found")
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(cert))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise InputError(f"{cert}: --ca-cert is not a PEM CA certificate ({exc})") from None


def _web_url(remote: str) -> str | None:
    """An https URL for a git remote, without credentials; None when it cannot be one."""
    from .._redact import locate

    where = locate(remote)
    if where is None or where.scheme not in ("", "https", "http", "ssh", "git") or not where.host:
        return None
    if not re.fullmatch(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+", where.host):
        return None  # no URL for a host that is no host name
    host = f"[{where.host}]" if ":" in where.host else where.host
    port = f":{where.port}" if where.port.isdigit() else ""
    return f"https://{host}{port}/{where.path.lstrip('/')}"


def project_origin(capture_dir: Path) -> tuple[str | None, str | None]:
    """(source URL, commit) of the code as the capture recorded it in its project.toml (read
    through the in door), or Nones: the image's labels say what was captured, whatever folder
    rebuild runs in."""
    path = capture_dir / "project.toml"
    if not os.path.lexists(path):  # a link is refused when read, not skipped
        return None, None
    from ..formats.capture import read
    from ..formats.project import ProjectState

    state: ProjectState = read(path, "project.toml")
    if state.status != "ok":
        return None, None
    source = _web_url(state.remote) if state.remote else None
    revision = state.commit if re.fullmatch(r"[0-9a-f]{40,64}", state.commit) else None
    return source, revision


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
) -> Any:
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
    return done


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

    A lock with packages that cannot be installed (`RebuildResult.skipped`) is refused unless
    *allow_missing*; an image built without them lists them in its ``io.envsnap.missing`` label.
    """
    say = progress or (lambda _m: None)
    if push is not None:
        _check_push(push, build=build, venv=venv)
    capture_dir = Path(directory)
    started = time.perf_counter()
    env = load_capture(capture_dir)
    load_ms = round((time.perf_counter() - started) * 1000, 1)
    cert = Path(ca_cert) if ca_cert else None
    if cert is not None:
        _check_cert(cert)
    if prefix is not None:
        from .prefix import rebuild_host_prefix

        return rebuild_host_prefix(
            env, capture_dir, Path(prefix), ca_cert=cert, build_on_host=build_on_host, say=say
        )
    if venv is not None:
        from ..render.plan import plan_layers
        from .trust import trusted_folders
        from .venv import rebuild_venv

        layout = plan_layers(env)
        skipped = layout.skipped
        lock = capture_dir / "pylock.toml"
        require_installable(skipped, len(env.packages), lock, allow_missing=allow_missing)
        folders = trusted_folders(
            layout.installs, env, capture_dir, build_on_host, venv=True, say=say
        )
        names = rebuild_venv(
            env,
            capture_dir,
            Path(venv),
            python=python,
            ca_cert=cert,
            progress=say,
            folders=folders,
        )
        return RebuildResult(kind="venv", venv=str(venv), installed=names, skipped=skipped)
    return _image(
        env,
        capture_dir,
        tag=tag,
        context=context,
        build=build,
        wheelhouse=wheelhouse,
        base_image=base_image,
        cert=cert,
        recorded=load_record(capture_dir) if pin else None,
        allow_missing=allow_missing,
        no_cache=no_cache,
        verbose=verbose,
        say=say,
        load_ms=load_ms,
        push=push,
        build_on_host=tuple(build_on_host),
    )


def _check_push(ref: str, *, build: bool, venv: str | Path | None) -> None:
    from ..formats.image import split_reference

    if venv is not None or not build:
        raise InputError(
            "--push: only meaningful when building an image (not with --venv or --no-build)"
        )
    if split_reference(ref) is None:
        raise InputError(
            f"--push: not an image reference: {ref!r:.120}",
            hint="[registry[:port]/]name[:tag], lower-case name, no digest",
        )


def _image(
    env: Environment,
    capture_dir: Path,
    *,
    tag: str | None,
    context: str | Path | None,
    build: bool,
    wheelhouse: bool,
    base_image: str | None,
    cert: Path | None,
    recorded: ImageRecord | None,
    allow_missing: bool,
    no_cache: bool,
    verbose: bool,
    say: Callable[[str], None],
    load_ms: float,
    push: str | None = None,
    build_on_host: tuple[str, ...] = (),
) -> RebuildResult:
    from ..render.plan import make_plan
    from .context import prepare_dir, write_context
    from .trust import trusted_folders

    source, revision = project_origin(capture_dir)
    started = time.perf_counter()  # render: plan, Dockerfile and context (not the lock's parse)
    from .._io import read_bytes_bounded

    lock_bytes = read_bytes_bounded(capture_dir / "pylock.toml", what="pylock.toml")
    digest = hashlib.sha256(lock_bytes).hexdigest()
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
    if not build and context is None:  # the Dockerfile goes to stdout: say the base here
        say(f"base image {plan.base.ref}: {plan.base.reason}")
    if plan.base.pin_note:
        say(plan.base.pin_note)
    if not build and context is None:
        # Only the Dockerfile is asked for: it is made from the plan alone, so nothing is
        # fetched or built (no wheel of a local folder, no tool wheels) for a context no one keeps.
        from ..render.dockerfile import render

        return RebuildResult(
            kind="context",
            base_image=plan.base.image,
            base_ref=plan.base.ref,
            base_pin=plan.base.pin_note,
            base_reason=plan.base.reason,
            dockerfile=render(env, plan),
            installed=tuple(i.name for i in plan.installs),
            skipped=plan.skipped,
            load_ms=load_ms,
            render_ms=round((time.perf_counter() - started) * 1000, 1),
        )
    folders = trusted_folders(plan.installs, env, capture_dir, build_on_host, venv=False, say=say)
    engine = _engine() if build else None
    temp = context is None
    out = Path(tempfile.mkdtemp(prefix="envsnap-context-")) if temp else Path(str(context))
    try:
        try:
            if not temp:
                prepare_dir(out)
            ctx = write_context(
                env, plan, capture_dir, out, ca_cert=cert, progress=say, folders=folders
            )
        except OSError as exc:  # an unwritable --context, a full disk: bad input, exit 2
            where = exc.filename or out
            raise InputError(f"{where}: cannot write the build context ({exc.strerror})") from None
        result = RebuildResult(
            kind="context",
            base_image=plan.base.image,
            base_ref=plan.base.ref,
            base_pin=plan.base.pin_note,
            base_reason=plan.base.reason,
            dockerfile=ctx.dockerfile,
            context=None if temp else str(out),
            files=ctx.files,
            installed=tuple(i.name for i in plan.installs),
            skipped=plan.skipped,
            load_ms=load_ms,
            render_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        if engine is None:
            return result
        done = _build(engine, out, plan, tag=tag, verbose=verbose, no_cache=no_cache, say=say)
        result = _record(result, done, capture_dir, tag, digest)
        return _push(engine, result, push, capture_dir, say) if push else result
    finally:
        if engine is not None:
            engine.close()
        if temp:
            shutil.rmtree(out, ignore_errors=True)


def _record(
    result: RebuildResult, done: Any, capture_dir: Path, tag: str | None, digest: str
) -> RebuildResult:
    from ..formats.image import ImageRecord, split_digest, write

    image_id = str(getattr(done, "image_id", "") or "")
    if not image_id:
        raise EnvsnapError("the Docker build ended without an image id", exit_code=1)
    # A registry digest (name@sha256:…) pins the base next time; the local image ID only
    # identifies it on this daemon (FROM by ID is classic-builder only and not portable).
    resolved = str(getattr(done, "base_digest", "") or "")
    base_digest = resolved if split_digest(resolved) else ""
    base_id = str(getattr(done, "base_image_id", "") or "")
    record = ImageRecord(
        image_id=image_id,
        base_image=result.base_image,
        base_digest=base_digest,
        base_image_id=base_id if re.fullmatch(r"sha256:[0-9a-f]{64}", base_id) else "",
        tag=tag or "",
        lock_digest=f"sha256:{digest}",
    )
    path = write(capture_dir / IMAGE_RECORD, record)
    return replace(
        result,
        kind="image",
        image_id=image_id,
        base_digest=base_digest,
        tag=tag or "",
        image_record=str(path),
    )


def _push(
    engine: Engine,
    result: RebuildResult,
    ref: str,
    capture_dir: Path,
    say: Callable[[str], None],
) -> RebuildResult:
    """Push the built image to *ref* and add the registry's digest to image.toml."""
    from ..engine.push import Pushed, format_push_event
    from ..formats.image import split_reference, write

    repository, tag = split_reference(ref) or (ref, "latest")
    pushed: Pushed | None = None
    for event in engine.push(result.image_id, repository, tag):
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
    return replace(result, pushed=f"{repository}:{tag}", pushed_digest=pushed.reference)
