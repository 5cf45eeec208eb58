"""`envsnap capture`: write pylock.toml, requirements.txt, hardware.toml (and conda-lock.yml)."""

from __future__ import annotations

import json
import sys

from .._defaults import DEFAULT_DIR, importable_name
from .._text import MOST, plural, some
from ._options import Option, add_arguments

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
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
  numerics.toml     with --numerics: bits of a battery of GEMM, conv, reductions, libm, FFT,
                    LAPACK, scatter and RNG probes in numpy/torch/jax/tensorflow, run in the
                    target interpreter, with the BLAS/SIMD/GPU dispatch facts behind them
  project.toml      the code: git remote (no credentials), commit, branch, dirty tree
                    (count of changed files and a digest of the diff, never its content)

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
    Option(("--project",), "project", "git repository of the code (default: .)", metavar="PATH"),
    Option(("--json",), "json", "print a JSON summary instead of text"),
    Option(("-q", "--quiet"), "quiet", "print nothing on success"),
    Option(("--numerics",), "numerics", "also run the numerics battery -> numerics.toml"),
    Option(
        ("--numerics-timeout",), "numerics_timeout", "battery time limit (default 300)", "SECONDS"
    ),
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
    from ..formats.capture import write
    from ..probes import capture, git

    if args.project is not None:
        from pathlib import Path

        if not Path(args.project).is_dir():
            from ..errors import InputError

            raise InputError(f"{args.project}: --project folder not found")

    def progress(msg: str) -> None:
        if not args.quiet and not args.json and sys.stderr.isatty():
            from .._redact import text  # package names and URLs come from files

            print(f"envsnap: {text(msg)}", file=sys.stderr)

    from pathlib import Path

    from ..errors import InputError

    if Path(args.output, "__init__.py").is_file():
        raise InputError(
            f"{args.output}: is a Python package (it holds __init__.py): capture into another "
            f"folder (the default is ./{DEFAULT_DIR})"
        )
    snap = capture(args.python, offline=args.offline, progress=progress)
    numerics = _numerics(args, progress) if args.numerics else None
    files = write(
        snap,
        args.output,
        numerics=numerics[0] if numerics else None,
        project=git.probe(args.project),
    )
    env = snap.environment
    hw = snap.hardware
    summary = {
        "version": 1,
        "files": list(files),
        "packages": len(env.packages),  # unhashed ones are among them
        "unhashed": list(env.unhashed),
        "withheld": list(env.withheld),
        "python": env.python.version,
        "gpus": len(hw.gpus.devices) if hw else 0,
        "gpu_status": hw.gpus.status if hw else "none",
    }
    if numerics:
        summary["numerics"] = numerics[1]
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    if not args.quiet:
        from .._redact import text  # a GPU reason, package names and paths come from others

        gpu = (
            f"{summary['gpus']} GPU(s)"
            if hw and hw.gpus.status == "ok"
            else f"no GPU ({hw.gpus.reason})"
            if hw
            else "no GPU"
        )
        print(
            text(
                f"captured {plural(len(env.packages), 'package')}, Python {env.python.version}, "
                f"{gpu} -> {args.output}/"
            )
        )
        if numerics:
            print(text(numerics[2]), file=sys.stderr if not numerics[1]["complete"] else sys.stdout)
        if env.withheld:
            # Named once, never the value: credentials or a value of an unexpected shape.
            print(
                f"warning: withheld from the capture: {', '.join(env.withheld)} "
                "(credentials, or a value of a shape envsnap does not record)",
                file=sys.stderr,
            )
        if importable_name(args.output) and Path(args.output).resolve().parent == Path.cwd():
            # From this directory, `import NAME` finds the capture folder (a namespace package)
            # before an installed NAME, editable installs included.
            print(
                text(
                    f"warning: {args.output}: a folder here named like a Python package shadows "
                    f"an import of that name; ./{DEFAULT_DIR} (the default) cannot be imported"
                ),
                file=sys.stderr,
            )
        if env.unhashed:
            print(
                text(
                    f"warning: {len(env.unhashed)} package(s) not pinned by hash "
                    f"(offline or not on any index): {some(env.unhashed)}"
                    + (" (--json lists them all)" if len(env.unhashed) > MOST else "")
                ),
                file=sys.stderr,
            )
    return 0


def _numerics(args: SimpleNamespace, progress: Any) -> tuple[str, dict[str, Any], str]:
    """Run the battery: (numerics.toml text, JSON summary, the line to print)."""
    from ..formats.numerics import digest, render
    from ..numerics import capture as run_battery
    from ._options import seconds

    progress("running the numerics battery")
    timeout = seconds(args.numerics_timeout, "--numerics-timeout")
    result = run_battery(args.python, **({"timeout": timeout} if timeout else {}))
    ok = [f.name for f in result.frameworks if f.status == "ok"]
    info = {
        "complete": result.complete,
        "reason": result.reason,
        "probes": len(result.probes),
        "frameworks": ok,
        "seconds": result.seconds,
        "digest": digest(result),
    }
    if not result.complete:
        line = f"warning: numerics: {result.reason}; numerics.toml records no probes"
    else:
        line = (
            f"numerics: {len(result.probes)} probes ({', '.join(ok) or 'no framework'}) "
            f"in {result.seconds or 0:.1f} s -> {args.output}/numerics.toml"
        )
    return render(result), info, line
