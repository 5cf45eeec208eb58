"""pip against uv installing the same locked wheels inside the image's base, compared.

One container of the base image, no network, the rebuild's context mounted read-only: pip
(from a venv of its own, as in the image's build stages) installs every hashed layer's
requirements (the Dockerfile's options: hashes required, no dependencies, no index, bytecode
compiled) into one prefix, then uv (``uv pip install``, the
same files and hashes, ``--compile-bytecode`` to match pip) into another. Each is timed inside
the container; the file lists and the dist-info folders come out and `records.differences`
says whether they installed the same files. pip runs first (the wheels' pages are cold for it,
warm for uv: any bias favours uv).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from records import differences, read_prefix

__all__ = ["Comparison", "find_uv", "pip_vs_uv"]

_LAYERS = ("heavy", "large", "packages")
# As the Dockerfile runs it: pip from a venv of its own, installing for the base's python.
_PIP = (
    "/tmp/tool/bin/python -m pip --python /usr/local/bin/python3 install -q "  # noqa: S108 (in the container)
    "--disable-pip-version-check --no-input --no-cache-dir --root-user-action=ignore "
    "--require-hashes --no-deps --no-index --prefix /tmp/pip"
)
_UV = (
    "uv pip install -q --python /usr/local/bin/python3 --no-cache --offline --compile-bytecode "
    "--require-hashes --no-deps --no-index --prefix /tmp/uv"
)


@dataclass(frozen=True)
class Comparison:
    """Seconds each installer took, its version, and how their installs differ."""

    pip_s: float
    uv_s: float
    versions: str
    differences: tuple[str, ...]
    error: str = ""


def find_uv() -> Path | None:
    """The uv binary next to the bench's interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    found = beside if beside.is_file() else shutil.which("uv")
    return Path(found) if found else None


def _script(layers: list[str]) -> str:
    def each(command: str) -> str:
        return " && ".join(
            f"{command} --find-links /ctx/layers/{n} -r /ctx/layers/{n}/requirements.txt"
            for n in layers
        )

    now = "python3 -c 'import time; print(time.time())'"
    dump = (
        "for n in pip uv; do (cd /tmp/$n && find . ! -type d | sort > /out/$n.files"
        " && cp -r --parents lib/python3*/site-packages/*.dist-info /out/$n/); done"
    )
    return (
        "set -e; python3 -m venv /tmp/tool; "
        f"t0=$({now}); {each(_PIP)}; t1=$({now}); {each(_UV)}; t2=$({now}); "
        'echo "times $t0 $t1 $t2"; /tmp/tool/bin/python -m pip --version; uv --version; '
        f"mkdir -p /out/pip /out/uv; {dump}"
    )


def pip_vs_uv(context: Path, out: Path, base: str, uv: Path) -> Comparison:
    """Install the hashed layers of rebuild's *context* with pip, then uv, in *base*."""
    layers = [n for n in _LAYERS if (context / "layers" / n / "requirements.txt").is_file()]
    if not layers:
        return Comparison(0.0, 0.0, "", (), "the context has no hashed layer")
    out.mkdir(parents=True, exist_ok=True)
    argv = ["docker", "run", "--rm", "--network", "none"]
    argv += ["-v", f"{context}:/ctx:ro", "-v", f"{out}:/out", "-v", f"{uv}:/usr/local/bin/uv:ro"]
    argv += [base, "sh", "-c", _script(layers)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Comparison(0.0, 0.0, "", (), f"docker run failed: {exc}")
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return Comparison(0.0, 0.0, "", (), f"{shlex.join(argv[:3])}...: {tail[0]}")
    lines = done.stdout.splitlines()
    t0, t1, t2 = (float(x) for x in next(ln for ln in lines if ln.startswith("times ")).split()[1:])
    versions = "; ".join(ln.split(" from ")[0] for ln in lines if ln.startswith(("pip ", "uv ")))
    found = {}
    for name in ("pip", "uv"):
        files = (out / f"{name}.files").read_text().splitlines()
        found[name] = read_prefix(out / name, files)
    diff = differences(found["pip"], found["uv"], ("pip", "uv"))
    return Comparison(t1 - t0, t2 - t1, versions, tuple(diff))
