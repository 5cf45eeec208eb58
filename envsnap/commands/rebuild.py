"""`envsnap rebuild`: a Docker image (or a virtualenv) from a capture."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..rebuild.result import RebuildResult

__all__ = ["register", "run"]

HELP = """\
Turn the capture in DIR (default ./envsnap-capture) into a Docker image, or with --venv into a
virtualenv, or (a conda capture) with --prefix into a conda prefix.

The build is hermetic: every locked file is fetched here (where pip already reaches its index),
checked against the lock's sha256 and put into the build context, and the build runs with no
network. Nothing is built on this machine: local folders, VCS commits and sdists go into the
context as sources, with their build requirements' wheels, and are built in the isolated build.
A local folder is used only when it is the capture's own project (a git work tree here whose
HEAD is the commit in DIR/project.toml) or named with --build-on-host; each one used is said
with its path. The base image is the smallest that reproduces the capture:
python:<X.Y.Z>-slim-<codename> for CPU and pip-wheel CUDA, nvidia/cuda for a system CUDA
toolkit, micromamba for conda. Packages are installed exactly as locked (hashes, no
resolution) in layers that change least first: heavy ones (torch, nvidia-*, tensorflow, jax),
then wheels of 4 MiB or more (numpy, scipy...), then the small packages, then the ones built
from source; changing one small package reuses the big layers.
The image is recorded in DIR/image.toml; the next rebuild pins the base image by the registry
digest recorded there (FROM name:tag@sha256:…), because tags move and vanish. A base built
locally has no registry digest and is not pinned (the Dockerfile's header says so).

  --no-build              render only: print the Dockerfile, or write it all to --context OUT
  --fetch-in-build        let pip in the build download the locked files from their indexes
                          (a small context; the build needs the network and, behind a proxy
                          whose CA only this machine trusts, --ca-cert FILE)
  --no-pin                ignore DIR/image.toml: FROM the base image's tag, not its digest
  --no-cache              run every step again (the daemon's build cache is not used)
  --ca-cert FILE          a CA to trust for downloads, here and in the build (proxies); never
                          left in the image
  --push REF              push the image to REF ([registry[:port]/]name[:tag]) and record the
                          registry's digest in DIR/image.toml (pull it as name@sha256:…);
                          credentials come from the Docker client config, as for `docker push`
  --build-on-host NAME    use the local folder (or local git repository) of package NAME: it
                          is copied into the context (with --venv: built here, which runs its
                          code here; also needed there for VCS commits and sdists on this
                          machine); the folder must be outside DIR; repeatable
  --prefix PATH           a conda capture: link exactly the locked conda files (fetched here,
                          sha256-checked) into the conda prefix PATH with py-rattler (no
                          solver, no link scripts), then install the pip packages on top
  --allow-missing         build without the packages the lock cannot install (an offline
                          capture's unhashed ones): listed in the image's io.envsnap.missing
                          label; without it rebuild refuses such a lock
"""


def register(sub: Any) -> None:
    """Add the `rebuild` sub-command to *sub*."""
    from .formatter import Formatter

    p = sub.add_parser(
        "rebuild",
        help="turn a capture into a Docker image or a virtualenv",
        description=HELP,
        formatter_class=Formatter,
    )
    from .._defaults import DEFAULT_DIR
    from .options import DIR_HELP

    p.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR", help=DIR_HELP)
    p.add_argument("-t", "--tag", metavar="TAG", help="tag for the built image")
    p.add_argument("--context", metavar="OUT", help="write the build context here (kept)")
    p.add_argument("--no-build", action="store_true", help="render the context, do not build")
    p.add_argument(
        "--fetch-in-build",
        action="store_true",
        help="pip in the build downloads the locked files (needs the network there)",
    )
    p.add_argument(
        "--wheelhouse",
        action="store_true",
        help="every locked file fetched here (the default; kept for scripts)",
    )
    p.add_argument("--base-image", metavar="IMAGE", help="override the chosen base image")
    p.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the base image by the digest recorded in DIR/image.toml",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="run every build step again, ignoring the daemon's build cache",
    )
    p.add_argument("--ca-cert", metavar="FILE", help="CA bundle for pip during the build")
    p.add_argument("--push", metavar="REF", help="push the built image to REF (a registry)")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="build without the packages the lock cannot install (listed in the image's "
        "io.envsnap.missing label) instead of refusing",
    )
    p.add_argument("--venv", metavar="PATH", help="rebuild into a virtualenv at PATH instead")
    p.add_argument(
        "--prefix", metavar="PATH", help="a conda capture: rebuild into a conda prefix at PATH"
    )
    p.add_argument("--python", metavar="PYTHON", help="with --venv: the interpreter to use")
    p.add_argument(
        "--build-on-host",
        action="append",
        default=[],
        metavar="NAME",
        help="use this package's local folder (with --venv: build it here, running its code)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.add_argument("-v", "--verbose", action="store_true", help="show each build step's output")
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Run the rebuild and print what it did; return 0."""
    from ..api import rebuild
    from ..errors import InputError

    if args.fetch_in_build and args.wheelhouse:
        raise InputError("--fetch-in-build: not with --wheelhouse")

    from .._redact import text  # names, reasons and build output come from others

    def progress(msg: str) -> None:
        if not args.json:
            # Build steps come preformatted ("[3/12] RUN …"); other news gets the prefix.
            line = (
                msg if msg.startswith(("[", " ", "built image", "pushed ")) else f"envsnap: {msg}"
            )
            print(text(line), file=sys.stderr, flush=True)

    result = rebuild(
        args.directory,
        tag=args.tag,
        context=args.context,
        build=not args.no_build,
        wheelhouse=not args.fetch_in_build,
        base_image=args.base_image,
        ca_cert=args.ca_cert,
        venv=args.venv,
        prefix=args.prefix,
        python=args.python,
        pin=not args.no_pin,
        no_cache=args.no_cache,
        verbose=args.verbose,
        progress=progress,
        push=args.push,
        build_on_host=tuple(args.build_on_host),
        allow_missing=args.allow_missing,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        _show(result)
    return 0


def _show(result: RebuildResult) -> None:
    """Print *result* as text: the Dockerfile alone, or a line or two saying what was made."""
    from .._redact import text  # names, reasons and paths come from others
    from .._text import plural, some
    from ..rebuild.result import ImageBuilt, PrefixBuilt, VenvBuilt

    skipped = result.rendered.skipped if isinstance(result, ImageBuilt) else result.skipped
    if skipped:
        on_host = isinstance(result, (VenvBuilt, PrefixBuilt))
        where = "" if on_host else " (image label io.envsnap.missing)"
        print(
            text(
                f"warning: --allow-missing: left out {len(skipped)} package(s) the lock "
                f"cannot install{where}: {some(list(skipped))}"
            ),
            file=sys.stderr,
        )
    if isinstance(result, VenvBuilt):
        print(text(f"rebuilt {plural(len(result.installed), 'package')} into {result.venv}"))
    elif isinstance(result, PrefixBuilt):
        print(text(f"rebuilt {plural(len(result.installed), 'package')} into {result.prefix}"))
    elif isinstance(result, ImageBuilt):
        base = result.rendered
        print(text(f"base image: {base.base_ref} ({base.base_reason})"))
        tag = f", tagged {result.tag}" if result.tag else ""
        print(text(f"built image {result.image_id}{tag}; recorded in {result.image_record}"))
        if result.pushed_digest:
            print(text(f"pushed to {result.pushed}; pull it as {result.pushed_digest}"))
    elif result.context is None:  # only the Dockerfile was asked for
        sys.stdout.write(result.dockerfile)
    else:
        print(text(f"base image: {result.base_ref} ({result.base_reason})"))
        files = plural(len(result.files), "file")
        print(text(f"wrote the build context to {result.context} ({files})"))
