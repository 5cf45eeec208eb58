"""`envsnap fleet REPORTS`: every node of a job against the capture and against each other."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from .formatter import Formatter

__all__ = ["register", "run"]

HELP = """\
Read the node reports that `envsnap check DIR --save REPORTS` wrote on every node (or rank) of a
job and print one table: each node's verdict against the capture, then what differs between the
nodes, named against the majority ("3 nodes have driver 535.104.05, node-7 has 550.54.15").

With --ray, run the node check on every alive node of a Ray cluster first (one task pinned to
each node; needs the `ray` extra) against the capture in --spec DIR, and aggregate those reports
(also written into REPORTS when given).

Exit status: 0 all nodes compatible and alike, 1 a node is incompatible, the nodes disagree on
something that can hang a collective or change results, a report is unreadable, or (--expect)
one is missing; 2 bad input.
"""


def register(sub: Any) -> None:
    """Add the `fleet` sub-command to *sub*."""
    from envsnap.api import DEFAULT_DIR

    p = sub.add_parser(
        "fleet",
        help="compare the node reports of a multi-node job",
        description=HELP,
        formatter_class=Formatter,
    )
    p.add_argument("reports", metavar="REPORTS", nargs="?", help="folder of node reports")
    p.add_argument("--expect", type=int, metavar="N", help="a report missing of N is an error")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="ADDRESS",
        help="check every node of the Ray cluster at ADDRESS (default: auto; give REPORTS first)",
    )
    p.add_argument(
        "--spec",
        metavar="DIR",
        default=DEFAULT_DIR,
        help=f"capture for --ray (default {DEFAULT_DIR})",
    )
    p.add_argument(
        "--timeout", type=float, default=300.0, metavar="S", help="--ray: seconds to wait (300)"
    )
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Aggregate the reports (`envsnap.api.fleet`); print the table or JSON; return the exit
    status."""
    from envsnap.api import fleet
    from envsnap.fleet.table import render

    result = fleet(
        args.reports, expect=args.expect, ray=args.ray, spec=args.spec, timeout=args.timeout
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render(result))
    return result.exit_code(strict=args.strict)
