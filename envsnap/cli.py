"""Command-line entry point: parse arguments, call a command, map errors to exit codes.

This is the only module that decides an exit status. Command modules under `envsnap.commands`
register their sub-parser and return an exit code; heavy imports happen inside them, lazily.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .commands._formatter import Formatter
from .errors import EnvsnapError

__all__ = ["main"]

# verb -> module under envsnap.commands; each module defines register(subparsers) and run(args).
COMMANDS = ("capture", "check", "diff", "rebuild")

DESCRIPTION = """\
Make ML environments reproducible.

  envsnap capture   record packages (PEP 751 pylock.toml), CUDA stack and hardware
  envsnap check     will this machine run the recorded job, and compute the same numbers?
  envsnap diff      what changed between two captures
  envsnap rebuild   turn a capture into a Docker image or a virtualenv
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered (or just *only*).

    Registering one verb imports one command module and builds one sub-parser: `envsnap check`
    runs at the start of training jobs, and the other verbs' parsers would be built for nothing.
    """
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
    # The verb is the first argument (global options are --help and --version, which exit);
    # anything else gets the full parser, so its help and errors list every verb.
    parser = build_parser(args_list[0] if args_list else None)
    args = parser.parse_args(args_list)
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


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
