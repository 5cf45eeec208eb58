"""`envsnap check`: will this machine run the recorded job, and compute the same numbers?"""

from __future__ import annotations

from .._defaults import DEFAULT_DIR
from .._text import seconds
from .options import DIR_HELP, Option, Positional, add_arguments

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from types import SimpleNamespace
    from typing import Any

    from envsnap.errors import EnvsnapError

__all__ = ["OPTIONS", "POSITIONAL", "error_envelope", "register", "run"]

HELP = """\
Compare this machine, and the environment of this interpreter (or --python PATH), with the
capture in DIR (default ./envsnap-capture: pylock.toml, hardware.toml, conda-lock.yml).

  error    the job will not run, or not as recorded (driver too old, no kernels for this GPU,
           missing package, another Python, ...)
  warning  it runs, but may compute different numbers or be much slower (another GPU model,
           TF32, missing determinism variables, another BLAS or SIMD level, ...)
  info     harmless drift

With --numerics, also re-run the numerics battery recorded by `capture --numerics` in this
interpreter (or --python PATH) and compare bit for bit: each differing probe is a warning that
names its likely cause and the setting verified to restore the recorded bits.

Exit status: 0 no error (with --strict: no warning either), 1 otherwise, 2 bad input.
"""

OPTIONS = (
    Option(("--python",), "python", "interpreter of the environment to check", metavar="PATH"),
    Option(("--json",), "json", "print the findings as one JSON object"),
    Option(("--strict",), "strict", "exit 1 on warnings too"),
    Option(("--numerics",), "numerics", "re-run the recorded numerics battery, compare bits"),
    Option(
        ("--numerics-timeout",), "numerics_timeout", "battery time limit (default 300)", "SECONDS"
    ),
    Option(
        ("--save",),
        "save",
        "also write this node's report into folder REPORTS (envsnap fleet)",
        metavar="REPORTS",
    ),
    Option(
        ("--node",),
        "node",
        "name of this node's report (default: from Slurm, torchrun or the host name)",
        metavar="NAME",
    ),
)
POSITIONAL = Positional("directory", "DIR", DIR_HELP, DEFAULT_DIR)


def register(sub: Any) -> None:
    """Add the `check` sub-command to *sub*."""
    from .formatter import Formatter

    p = sub.add_parser(
        "check",
        help="will this machine run the capture, and compute the same numbers?",
        description=HELP,
        formatter_class=Formatter,
    )
    add_arguments(p, OPTIONS, POSITIONAL)
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Check the machine against the capture (`envsnap.api.check`, or `check_node` with --save);
    print the report; return the exit status."""
    from envsnap import api
    from envsnap.errors import EnvsnapError

    timeout = seconds(args.numerics_timeout, "--numerics-timeout")
    try:
        if args.save:
            saved = api.check_node(
                args.directory,
                args.save,
                node=args.node,
                python=args.python,
                numerics=args.numerics,
                numerics_timeout=timeout,
            )
            if saved.clashes_with:
                import sys

                from envsnap._redact import text

                # Named once: the node's name and the one it would have shared a file with.
                print(
                    text(
                        f"envsnap: node {saved.report.node!r} is not a file name: its report is "
                        f"{saved.path} (a node named {saved.clashes_with!r} has its own file)"
                    ),
                    file=sys.stderr,
                )
            report = saved.report.report
        else:
            report = api.check(
                args.directory, python=args.python, numerics=args.numerics, numerics_timeout=timeout
            )
    except EnvsnapError as exc:
        if args.json:  # a program reading stdout gets an answer too; the CLI still exits 2
            import json

            print(json.dumps(error_envelope(exc), indent=2))
        raise
    from envsnap.checks.output import print_report

    ok_line = f"envsnap: this machine matches the capture in {args.directory}"
    return print_report(report, json_output=args.json, strict=args.strict, ok_line=ok_line)


def error_envelope(exc: EnvsnapError) -> dict[str, Any]:
    """The JSON answer to input that could not be checked: the report's keys, no findings,
    and the error (its message and hint)."""
    return {
        "version": 1,
        "compatible": False,
        "findings": [],
        "error": {"message": exc.message, "hint": exc.hint or "", "exit_code": exc.exit_code},
    }
