"""Generate N node reports (the JSON that `envsnap check --save` writes) from one real report.

Each copy gets its own node name (node-1 ... node-N); one node in a thousand (at least one) gets
another driver and one in five hundred another package set, so that `envsnap fleet` has real
differences to group and name. Output is deterministic: the same template and N give the same
files.

Usage: python bench/gen_reports.py TEMPLATE.json OUT_DIR N
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["generate"]


def generate(template: Path, out: Path, count: int) -> None:
    """Write *count* reports derived from *template* into the folder *out*."""
    base = json.loads(template.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        doc = dict(base)
        doc["node"] = doc["host"] = f"node-{i}"
        fp = dict(base["fingerprint"])
        if i % 1000 == 7 or (count < 1000 and i == count):
            fp["driver"] = "550.54.15"
        if i % 500 == 3:
            fp["packages"] = "f" * 64
            doc["packages-differ"] = [["requests", "2.32.3", "2.31.0"]]
        doc["fingerprint"] = fp
        (out / f"node-{i}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    generate(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
