"""`envsnap capture`: write pylock.toml, requirements.txt, hardware.toml (and conda-lock.yml)."""

from __future__ import annotations

import json
import sys

from .._defaults import DEFAULT_DIR, importable_name
from .._text import MOST, plural, some
from ._options import Option, add_arguments

TYPE_CHECKING = False  # `typing` costs ~4 ms of each start; mypy and ruff read this name
if TYPE_CHECKING:
    from types import SimpleNamespace
    from typing import Any

__all__ = ["OPTIONS", "POSITIONAL", "register", "run"]

HELP = """\
Record the environment of this interpreter (or --python PATH) and this machine into DIR:

  pylock.toml       PEP 751 lock of every installed distribution, with hashes and sources;
                    [tool.envsnap] holds Python, OS, CUDA stack, BLAS and determinism variables
  requirements.txt  the same pins with --hash lines (pip install --require-hashes -r)
  hardware.toml     GPUs (NVML), driver, CPU and instruction sets, RAM, NUMA
  conda-lock.yml    conda packages, when the target is a conda environment

Index hashes are looked up once per (index, name, version) and cached; --offline skips the
look-ups and lists the packages it could not pin.
"""


OPTIONS = (
    Option(
        ("-o", "--output"),
        "output",
        f"default: ./{DEFAULT_DIR}",
        metavar="DIR",
        default=DEFAULT_DIR,
    ),
    Option(("--python",), "python", "interpreter of the environment to capture", metavar="PATH"),
    Option(("--offline",), "offline", "no index look-ups (hashes from cache)"),
    Option(("--json",), "json", "print a JSON summary instead of text"),
    Option(("-q", "--quiet"), "quiet", "print nothing on success"),
)
POSITIONAL = None


def register(sub: Any) -> None:
    """Add the `capture` sub-command to *sub*."""
    from ._formatter import Formatter

    p = sub.add_parser(
        "capture",
        help="record packages, CUDA stack and hardware",
        description=HELP,
        formatter_class=Formatter,
    )
    add_arguments(p, OPTIONS)
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Capture and write the files; return 0."""
    from ..probes import capture, write

    def progress(msg: str) -> None:
        if not args.quiet and not args.json and sys.stderr.isatty():
            print(f"envsnap: {msg}", file=sys.stderr)

    from pathlib import Path

    from ..errors import InputError

    if Path(args.output, "__init__.py").is_file():
        raise InputError(
            f"{args.output}: is a Python package (it holds __init__.py): capture into another "
            f"folder (the default is ./{DEFAULT_DIR})"
        )
    snap = capture(args.python, offline=args.offline, progress=progress)
    files = write(snap, args.output)
    env = snap.environment
    hw = snap.hardware
    summary = {
        "version": 1,
        "files": list(files),
        "packages": len(env.packages),  # unhashed ones are among them
        "unhashed": list(env.unhashed),
        "python": env.python.version,
        "gpus": len(hw.gpus.devices) if hw else 0,
        "gpu_status": hw.gpus.status if hw else "none",
    }
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    if not args.quiet:
        gpu = (
            f"{summary['gpus']} GPU(s)"
            if hw and hw.gpus.status == "ok"
            else f"no GPU ({hw.gpus.reason})"
            if hw
            else "no GPU"
        )
        print(
            f"captured {plural(len(env.packages), 'package')}, Python {env.python.version}, "
            f"{gpu} -> {args.output}/"
        )
        if importable_name(args.output) and Path(args.output).resolve().parent == Path.cwd():
            # From this directory, `import NAME` finds the capture folder (a namespace package)
            # before an installed NAME, editable installs included.
            print(
                f"warning: {args.output}: a folder here named like a Python package shadows an "
                f"import of that name; ./{DEFAULT_DIR} (the default) cannot be imported",
                file=sys.stderr,
            )
        if env.unhashed:
            print(
                f"warning: {len(env.unhashed)} package(s) not pinned by hash "
                f"(offline or not on any index): {some(env.unhashed)}"
                + (" (--json lists them all)" if len(env.unhashed) > MOST else ""),
                file=sys.stderr,
            )
    return 0
