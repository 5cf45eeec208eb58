"""`envsnap capture`: write pylock.toml, requirements.txt, hardware.toml (and conda-lock.yml)."""

from __future__ import annotations

import sys

from .._defaults import DEFAULT_DIR, importable_name
from .._text import MOST, plural, seconds, some
from .options import Option, add_arguments

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from types import SimpleNamespace
    from typing import Any

    from ..api import Captured

__all__ = ["OPTIONS", "POSITIONAL", "register", "run"]

HELP = """\
Record the environment of this interpreter (or --python PATH) and this machine into DIR:

  pylock.toml       PEP 751 lock of every installed distribution, with hashes and sources;
                    [tool.envsnap] holds Python, OS, CUDA stack, BLAS and determinism variables
  requirements.txt  the same pins with --hash lines (pip install --require-hashes --no-deps -r)
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
    from .formatter import Formatter

    p = sub.add_parser(
        "capture",
        help="record packages, CUDA stack and hardware",
        description=HELP,
        formatter_class=Formatter,
    )
    add_arguments(p, OPTIONS)
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Capture and write the files (`envsnap.api.capture`); print what was done; return 0."""
    from ..api import capture

    def progress(msg: str) -> None:
        if not args.quiet and not args.json and sys.stderr.isatty():
            from .._redact import text  # package names and URLs come from files

            print(f"envsnap: {text(msg)}", file=sys.stderr)

    done = capture(
        args.output,
        python=args.python,
        offline=args.offline,
        project=args.project,
        numerics=args.numerics,
        numerics_timeout=seconds(args.numerics_timeout, "--numerics-timeout"),
        progress=progress,
    )
    summary = _summary(done)
    if args.json:
        import json

        print(json.dumps(summary, indent=2, sort_keys=True))
    elif not args.quiet:
        _print(done, summary)
    return 0


def _summary(done: Captured) -> dict[str, Any]:
    """The JSON summary of *done* (``--json``), version 1."""
    env = done.snapshot.environment
    hw = done.snapshot.hardware
    summary: dict[str, Any] = {
        "version": 1,
        "files": list(done.files),
        "packages": len(env.packages),  # unhashed ones are among them
        "unhashed": list(env.unhashed),
        "withheld": list(env.withheld),
        "python": env.python.version,
        "gpus": len(hw.gpus.devices) if hw else 0,
        "gpu_status": hw.gpus.status if hw else "none",
    }
    battery = done.numerics
    if battery is not None:
        summary["numerics"] = {
            "complete": battery.complete,
            "reason": battery.reason,
            "probes": len(battery.probes),
            "frameworks": [f.name for f in battery.frameworks if f.status == "ok"],
            "seconds": battery.seconds,
            "digest": done.numerics_digest,
        }
    return summary


def _print(done: Captured, summary: dict[str, Any]) -> None:
    """The lines a person reads: what was captured, then the warnings on stderr."""
    from pathlib import Path

    from .._redact import text  # a GPU reason, package names and paths come from others

    env = done.snapshot.environment
    hw = done.snapshot.hardware
    gpu = (
        f"{summary['gpus']} GPU(s)"
        if hw and hw.gpus.status == "ok"
        else f"no GPU ({hw.gpus.reason})"
        if hw
        else "no GPU"
    )
    what = plural(len(env.packages), "package")
    if env.conda is not None:
        what = f"{plural(len(env.conda.packages), 'conda package')} and {what} from pip"
    print(text(f"captured {what}, Python {env.python.version}, {gpu} -> {done.output}/"))
    battery = done.numerics
    if battery is not None and not battery.complete:
        line = f"warning: numerics: {battery.reason}; numerics.toml records no probes"
        print(text(line), file=sys.stderr)
    elif battery is not None:
        ok = summary["numerics"]["frameworks"]
        print(
            text(
                f"numerics: {len(battery.probes)} probes ({', '.join(ok) or 'no framework'}) "
                f"in {battery.seconds or 0:.1f} s -> {done.output}/numerics.toml"
            )
        )
    if env.withheld:
        # Named once, never the value: credentials or a value of an unexpected shape.
        print(
            f"warning: withheld from the capture: {', '.join(env.withheld)} "
            "(credentials, or a value of a shape envsnap does not record)",
            file=sys.stderr,
        )
    if importable_name(done.output) and Path(done.output).resolve().parent == Path.cwd():
        # From this directory, `import NAME` finds the capture folder (a namespace package)
        # before an installed NAME, editable installs included.
        name = Path(done.output).name
        print(
            text(
                f"warning: {done.output}: a folder here named like a Python package shadows "
                f"`import {name}` run from this folder; a name with a dash, like the default "
                f"{DEFAULT_DIR}, shadows nothing"
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
