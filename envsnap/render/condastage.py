"""The conda stage of a rebuild's Dockerfile: link the locked conda files into /opt/conda.

Pure. The stage starts from the image's base (the official Python image, or ``--base-image``),
installs the pinned py-rattler wheel from the context (hash-checked, no index) into a folder of
its own, and runs the link script on the context's conda files: each file's sha256 is checked
again there, then rattler links them into /opt/conda; no solver runs, no link script of a
package runs, nothing is downloaded. The final stage copies /opt/conda alone, so neither the
wheel nor the package files stay in the image. Why not micromamba: its image is one more
registry pull, and ``micromamba install --file`` of a lock re-downloads from the channels,
which the build cannot reach when the channel is on this machine or behind its proxy.
"""

from __future__ import annotations

from .plan import Plan

__all__ = ["PREFIX", "STAGE", "copy_lines", "stage"]

PREFIX = "/opt/conda"
STAGE = "envsnap-conda"


def stage(plan: Plan, build_dir: str) -> list[str]:
    """The lines of the conda stage (empty for a pip capture)."""
    if not plan.conda:
        return []
    files = f"{build_dir}/conda"
    rattler = f"{build_dir}/rattler"
    python = plan.base.python
    return [
        "# The conda packages: exactly the locked files (in the context, sha256-checked here",
        "# again), linked by py-rattler; no solver, no download, no link scripts",
        f"FROM {plan.base.ref} AS {STAGE}",
        f"COPY conda/ {files}/",
        "RUN "
        + " \\\n    ".join(
            [
                f"{python} -m pip install --no-cache-dir --disable-pip-version-check",
                f"--no-index --require-hashes --no-deps --target {rattler}",
                f"--find-links {files}/tool -r {files}/tool/requirements.txt",
                f"&& PYTHONPATH={rattler} {python} {files}/condalink.py {files} {PREFIX}",
            ]
        ),
        "",
    ]


def copy_lines(plan: Plan) -> list[str]:
    """What a stage that holds the conda environment adds after its FROM line."""
    return [f"COPY --from={STAGE} {PREFIX} {PREFIX}"] if plan.conda else []
