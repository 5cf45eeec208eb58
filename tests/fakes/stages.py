"""Run one stage of a rendered Dockerfile on this machine, as the image build runs it.

Only for stages that install with pip (the layer stages): each ``RUN`` line is taken from the
Dockerfile as rendered, its image paths mapped onto this machine (the context for the build
folder, this interpreter for /opt/envsnap's, a test venv for /opt/venv, a folder for the layer
prefix), and run by ``sh`` with no pip configuration. A command the image would fail, fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from envsnap.render.dockerfile import BUILD_DIR, LAYER_DIR, TOOL_DIR


def run_lines(dockerfile: str, stage: str) -> list[str]:
    """The ``RUN`` commands of stage *stage* (``envsnap-local``…), continuation lines joined."""
    lines = dockerfile.split("\n")
    start = next(n for n, line in enumerate(lines) if line.endswith(f" AS {stage}"))
    commands: list[str] = []
    current: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("FROM "):
            break
        if current or line.startswith("RUN "):
            current.append(line.removeprefix("RUN ").removesuffix("\\").strip())
            if not line.endswith("\\"):
                commands.append(" ".join(current))
                current = []
    return commands


def run_stage(
    context: Path, dockerfile: str, stage: str, *, python: Path, prefix: Path
) -> subprocess.CompletedProcess[str]:
    """Run stage *stage*'s commands against *context*; the first failure is returned."""
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.CompletedProcess[str]([], 0, "", "")
    for command in run_lines(dockerfile, stage):
        mapped = (
            command.replace(f"{TOOL_DIR}/bin/python", sys.executable)
            .replace("/opt/venv/bin/python", str(python))
            .replace(LAYER_DIR, str(prefix))
            .replace(BUILD_DIR + "/layers", str(context / "layers"))
            .replace(BUILD_DIR, f"{prefix}-build")
        )
        done = subprocess.run(
            ["sh", "-c", mapped], capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            return done
    return done
