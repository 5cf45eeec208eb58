"""Options declared once per verb: argparse builds `--help` and the errors from them, and
`fast_parse` reads a plain command line of the verbs that start every job without argparse.

Importing argparse (with gettext, which imports locale on its first message) and building the
parser is a large part of a whole capture or check (bench/ measures both). `fast_parse` accepts
only what argparse reads the same way (exact option names, ``--name=value``, one positional)
and returns None for anything else, which then goes to argparse: help, abbreviations, bundled
short flags, ``--``, and every error.
"""

from __future__ import annotations

from types import SimpleNamespace

from .._record import Record, record

TYPE_CHECKING = False  # keeps `typing` off every start; mypy and ruff read this name
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["Option", "Positional", "add_arguments", "fast_parse"]


@record
class Option(Record):
    """An option: a flag (``metavar`` None: store_true) or one that takes a value."""

    flags: tuple[str, ...]
    dest: str
    help: str
    metavar: str | None = None
    default: str | None = None


@record
class Positional(Record):
    """The one optional positional argument (``nargs="?"``)."""

    dest: str
    metavar: str
    help: str
    default: str


def add_arguments(
    parser: Any, options: Sequence[Option], positional: Positional | None = None
) -> None:
    """Declare *positional* and *options* on an argparse *parser*."""
    if positional is not None:
        parser.add_argument(
            positional.dest,
            metavar=positional.metavar,
            nargs="?",
            default=positional.default,
            help=positional.help,
        )
    for opt in options:
        if opt.metavar is None:
            parser.add_argument(*opt.flags, dest=opt.dest, action="store_true", help=opt.help)
        else:
            parser.add_argument(
                *opt.flags, dest=opt.dest, metavar=opt.metavar, default=opt.default, help=opt.help
            )


def fast_parse(
    argv: Sequence[str], options: Sequence[Option], positional: Positional | None = None
) -> SimpleNamespace | None:
    """*argv* (after the verb) as argparse would read it, or None when not surely the same."""
    by_flag = {flag: opt for opt in options for flag in opt.flags}
    values: dict[str, Any] = {o.dest: False if o.metavar is None else o.default for o in options}
    if positional is not None:
        values[positional.dest] = positional.default
    taken = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            if positional is None or taken or arg == "-":
                return None
            values[positional.dest], taken = arg, True
        else:
            name, equals, value = arg.partition("=")
            opt = by_flag.get(name)
            if opt is None or (equals and (opt.metavar is None or not name.startswith("--"))):
                return None  # unknown, abbreviated, bundled, "--", or a flag given a value
            if opt.metavar is None:
                values[opt.dest] = True
            elif equals:
                values[opt.dest] = value
            else:
                i += 1
                if i == len(argv) or argv[i].startswith("-"):
                    return None  # argparse's error (or its reading of a negative value)
                values[opt.dest] = argv[i]
        i += 1
    return SimpleNamespace(**values)
