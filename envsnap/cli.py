"""Command-line entry point: parse arguments, call a command, map errors to exit codes.

This is the only module that decides an exit status. Command modules under `envsnap.commands`
register their sub-parser and return an exit code; heavy imports happen inside them, lazily.
`capture` and `check`, which start jobs, read a plain command line without argparse
(`commands.options.fast_parse`); help, errors and every other verb go through argparse.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from . import __version__
from .errors import EnvsnapError

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

__all__ = ["main"]

# verb -> module under envsnap.commands; each module defines register(subparsers) and run(args).
COMMANDS = ("capture", "check", "diff", "rebuild", "report", "log", "fleet", "repro")
FAST = ("capture", "check")  # these also define OPTIONS and POSITIONAL for fast_parse

# The commands are listed once, by argparse from each sub-parser's help.
DESCRIPTION = """\
Make ML environments reproducible: record an environment and its machine, check another
machine against the record, rebuild the environment as a Docker image or a virtualenv.
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered (or just *only*).

    Registering one verb imports one command module and builds one sub-parser: `envsnap check`
    runs at the start of training jobs, and the other verbs' parsers would be built for nothing.
    """
    import argparse

    from .commands.formatter import Formatter

    parser = argparse.ArgumentParser(
        prog="envsnap",
        description=DESCRIPTION,
        formatter_class=Formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"envsnap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only in COMMANDS else COMMANDS:
        module = _command(name)
        module.register(sub)
    for verb_parser in _verbs(parser).values():
        # `--stric` is not `--strict`: a mistyped option is an error, never another option
        verb_parser.allow_abbrev = False
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (0 ok, 1 findings or failed build, 2 bad input)."""
    args_list = sys.argv[1:] if argv is None else list(argv)
    verb = args_list[0] if args_list else None
    args = _fast(verb, args_list[1:]) if verb is not None and verb in FAST else None
    if args is None:
        # The verb is the first argument (global options are --help and --version, which
        # exit). A known verb's own parser reads the rest, so a mistyped option shows that
        # verb's usage; anything else gets the full parser, whose help lists every verb.
        parser = build_parser(verb)
        verbs = _verbs(parser)
        if verb in verbs:
            args = verbs[verb].parse_args(args_list[1:], namespace=SimpleNamespace(command=verb))
        else:
            args = parser.parse_args(args_list, namespace=SimpleNamespace())
        if args.command is None:
            parser.print_help()
            return 2
    try:
        code: int = args.func(args)
    except EnvsnapError as exc:
        return _fail(exc.message, exc.hint, exc.exit_code, exc.details)
    except KeyboardInterrupt:
        print("envsnap: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # Whatever escaped the layers' own errors still gets one line and exit 2, never a
        # traceback and never 1, which a CI gate reads as "this machine is incompatible".
        if os.environ.get("ENVSNAP_DEBUG") == "1":
            raise
        return _fail(_describe(exc), "set ENVSNAP_DEBUG=1 to see the traceback", 2)
    return code


def _describe(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _fail(message: str, hint: str | None, code: int, details: tuple[str, ...] = ()) -> int:
    """Print *message*, its *details* and *hint* on stderr, each line redacted and escaped
    (data never makes a line of its own); return *code*."""
    from ._redact import text

    print(f"envsnap: error: {text(message)}", file=sys.stderr)
    for line in details:
        print(f"  {text(line)}", file=sys.stderr)
    if hint:
        print(f"  hint: {text(hint)}", file=sys.stderr)
    return code


def _verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-parsers registered on *parser*, by verb."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command(verb: str) -> Any:
    """The module of *verb* under envsnap.commands (`__import__`: `importlib` and the
    `warnings` it loads would cost every start a third of a millisecond)."""
    name = f"envsnap.commands.{verb}"
    __import__(name)
    return sys.modules[name]


def _fast(verb: str, rest: Sequence[str]) -> SimpleNamespace | None:
    from .commands.options import fast_parse

    module = _command(verb)
    args = fast_parse(rest, module.OPTIONS, module.POSITIONAL)
    if args is not None:
        args.command, args.func = verb, module.run
    return args


def entry() -> None:
    """Console-script entry point.

    `capture` and `check` (run before every job, done in a few dozen milliseconds) run without
    the cyclic garbage collector: they make next to no cyclic garbage, and its passes over every
    object their imports made cost each of them a millisecond or more. Every other verb, and
    `main` called in-process, keep it.
    """
    if sys.argv[1:2] and sys.argv[1] in FAST:
        import gc

        gc.disable()
    sys.exit(main())
