"""Command-line entry point: parse arguments, call a command, map errors to exit codes.

This is the only module that decides an exit status. Command modules under `envsnap.commands`
register their sub-parser and return an exit code; heavy imports happen inside them, lazily.
`capture` and `check`, which start jobs, read a plain command line without argparse
(`commands._options.fast_parse`); help, errors and every other verb go through argparse.
"""

from __future__ import annotations

import importlib
import sys
from types import SimpleNamespace

from . import __version__
from .errors import EnvsnapError

TYPE_CHECKING = False  # `typing` costs ~4 ms of each start; mypy and ruff read this name
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["main"]

# verb -> module under envsnap.commands; each module defines register(subparsers) and run(args).
COMMANDS = ("capture", "check", "diff", "rebuild", "fleet")
FAST = ("capture", "check")  # these also define OPTIONS and POSITIONAL for fast_parse

DESCRIPTION = """\
Make ML environments reproducible.

  envsnap capture   record packages (PEP 751 pylock.toml), CUDA stack and hardware
  envsnap check     will this machine run the recorded job, and compute the same numbers?
  envsnap diff      what changed between two captures
  envsnap rebuild   turn a capture into a Docker image or a virtualenv
  envsnap fleet     compare the nodes of a multi-node job (reports of check --save)
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered (or just *only*).

    Registering one verb imports one command module and builds one sub-parser: `envsnap check`
    runs at the start of training jobs, and the other verbs' parsers would be built for nothing.
    """
    import argparse

    from .commands._formatter import Formatter

    parser = argparse.ArgumentParser(
        prog="envsnap",
        description=DESCRIPTION,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"envsnap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only in COMMANDS else COMMANDS:
        module = importlib.import_module(f"envsnap.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (0 ok, 1 findings or failed build, 2 bad input)."""
    args_list = sys.argv[1:] if argv is None else list(argv)
    verb = args_list[0] if args_list else None
    args = _fast(verb, args_list[1:]) if verb in FAST else None
    if args is None:
        # The verb is the first argument (global options are --help and --version, which
        # exit); anything else gets the full parser, so its help and errors list every verb.
        parser = build_parser(verb)
        args = parser.parse_args(args_list, namespace=SimpleNamespace())
        if args.command is None:
            parser.print_help()
            return 2
    try:
        code: int = args.func(args)
    except EnvsnapError as exc:
        print(f"envsnap: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("envsnap: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return code


def _fast(verb: str | None, rest: Sequence[str]) -> SimpleNamespace | None:
    from .commands._options import fast_parse

    module = importlib.import_module(f"envsnap.commands.{verb}")
    args = fast_parse(rest, module.OPTIONS, module.POSITIONAL)
    if args is not None:
        args.command, args.func = verb, module.run
    return args


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
