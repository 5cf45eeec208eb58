"""The conda-lock.yml fast path against PyYAML: what `envsnap check` of a conda capture pays at
every start to read its conda-lock.yml (medians of fresh processes, interleaved).

`envsnap.checks.load` reads the capture with the subset reader (`formats.condalock`), then with
the subset reader turned away so that PyYAML (the in door's `yaml_value`: libyaml where built,
aliases refused, depth bounded) reads it. The lock is generated: N packages of conda-forge
shape with a few dependencies each.

Usage: python bench/conda_subset.py [--packages 300] [--runs 11]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_CODE = """
import sys, time
t0 = time.perf_counter()
from envsnap.formats import condalock
if sys.argv[2] == "pyyaml":
    def declined(text):
        raise condalock._Unsupported("the bench asks PyYAML")
    condalock._read_subset = declined
from envsnap.checks import load
snap = load(sys.argv[1])
print((time.perf_counter() - t0) * 1000, len(snap.environment.conda.packages))
"""


def write_capture(folder: Path, packages: int) -> None:
    """A capture of a conda environment of *packages* packages (pylock.toml, conda-lock.yml)."""
    from envsnap.formats import condalock, pylock
    from envsnap.model import replace
    from tests.fakes import samples

    env = samples.conda_env()
    assert env.conda is not None
    base = env.conda.packages[0]
    channel = "https://conda.anaconda.org/conda-forge/linux-64"
    pkgs = tuple(
        replace(
            base,
            name=f"pkg{i:03d}",
            version=f"1.{i}.0",
            build=f"h{i:05d}_0",
            url=f"{channel}/pkg{i:03d}-1.{i}.0-h{i:05d}_0.conda",
            depends=tuple(f"dep{j} >=1.0" for j in range(i % 6)),
        )
        for i in range(packages)
    )
    env = replace(env, conda=replace(env.conda, packages=pkgs))
    pylock.write(folder / "pylock.toml", env)
    condalock.write(folder / "conda-lock.yml", env)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--packages", type=int, default=300)
    p.add_argument("--runs", type=int, default=11)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-conda-") as tmp:
        write_capture(Path(tmp), args.packages)
        size = (Path(tmp) / "conda-lock.yml").stat().st_size
        times: dict[str, list[float]] = {"subset": [], "pyyaml": []}
        for _ in range(args.runs):
            for mode, rows in times.items():
                done = subprocess.run(
                    [sys.executable, "-c", _CODE, tmp, mode],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                rows.append(float(done.stdout.split()[0]))
    print(f"checks.load of a capture with a {args.packages}-package conda-lock.yml ({size} bytes)")
    for mode, rows in times.items():
        print(f"  {mode:7} median {statistics.median(rows):6.1f} ms  (min {min(rows):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
