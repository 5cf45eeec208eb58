"""`envsnap report`: the reproducibility report (ML Reproducibility Scale) from a capture."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace
from typing import Any

__all__ = ["register", "run"]

HELP = """\
Write (or update) a reproducibility report following the ML Reproducibility Scale: Code,
Configuration, Data, Environment, Evaluation. The Code section (repository, commit, dirty tree,
from DIR/project.toml) and the Environment section (lock files and how many packages are
pinned by hash, the pushed image by digest with its `docker run` line, the hardware needed,
determinism settings, numerics) are filled from the capture in DIR, between markers; a box is
ticked only when it is true. Running it again replaces only those sections and keeps the rest of
the file byte for byte. Configuration, Data and Evaluation are checklists for the author.

A pushed image (image.toml) is only "recorded by the capture" until --verify fetches its
manifest from the registry by digest and finds those bytes; a remote on this machine (a folder,
file:, localhost, a loopback address) is no repository others can clone.

  -o FILE     the report (default REPRODUCIBILITY.md); "-" prints it
  --json      print the same facts as JSON (writes FILE only when -o is given)
  --verify    fetch the pushed image's manifest by digest (network); exit 1 when it is not
              there
"""


def register(sub: Any) -> None:
    """Add the `report` sub-command to *sub*."""
    from ..api import DEFAULT_DIR
    from .formatter import Formatter

    p = sub.add_parser(
        "report",
        help="write the reproducibility report from a capture",
        description=HELP,
        formatter_class=Formatter,
    )
    p.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    p.add_argument("-o", "--output", metavar="FILE", help="default: REPRODUCIBILITY.md")
    p.add_argument("--json", action="store_true", help="print the report's facts as JSON")
    p.add_argument(
        "--verify",
        action="store_true",
        help="fetch the pushed image's manifest from its registry by digest",
    )
    p.set_defaults(func=run)


def run(args: SimpleNamespace) -> int:
    """Write or print the report (`envsnap.api.report`); return 0 (1 when --verify did not find
    the image)."""
    from .._redact import text
    from ..api import report

    output = args.output
    if output == "-" or (args.json and output is None):
        result = report(args.directory, None, verify=args.verify)
    else:
        result = report(args.directory, output or "REPRODUCIBILITY.md", verify=args.verify)
    if args.json:
        print(json.dumps(result.facts, indent=2, sort_keys=True))
    elif not result.path:
        sys.stdout.write(result.markdown)
    else:
        verb = "wrote" if result.created else "updated the envsnap sections of"
        print(text(f"{verb} {result.path} from the capture in {args.directory}"))
    return _verdict(result.facts, args.verify)


def _verdict(facts: dict[str, Any], verify: bool) -> int:
    """0, or 1 with one line on stderr when --verify did not find the pushed image."""
    from .._redact import text

    image = facts["environment"]["image"]
    if not verify or not image or not image["pushed_digest"] or image["verified"]:
        return 0
    print(
        text(f"envsnap: --verify: {image['pushed_digest']}: {image['verify_error']}"),
        file=sys.stderr,
    )
    return 1
