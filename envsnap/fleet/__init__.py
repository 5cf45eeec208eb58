"""Fleet check: every node of a multi-node job against the capture and against each other.

Each node writes a report (`node.check_node` + `node.save`, the CLI's ``check --save``);
`collect.collect` reads a folder of them, `aggregate.aggregate` compares them (pure) and
`render.render` prints the table. `distributed` exchanges the reports between the ranks of a
torch.distributed job and `ray` runs the node check on every node of a Ray cluster; each
imports its framework only when called.
"""

from __future__ import annotations

__all__ = ["fleet"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os

    from .aggregate import FleetResult


def fleet(reports: str | os.PathLike[str], *, expected: int | None = None) -> FleetResult:
    """Read the node reports in the folder *reports* and compare them."""
    from .aggregate import aggregate
    from .collect import collect

    found, problems = collect(reports)
    return aggregate(found, problems, expected=expected)
