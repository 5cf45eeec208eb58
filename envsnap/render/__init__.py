"""Turn a capture into text: the base image, the install plan, the Dockerfile. No I/O at all.

`make_plan` validates the (untrusted) lock and sorts packages into layers (`plan_layers`, shared
with the venv path); `render` turns a plan into Dockerfile text. Writing the build context,
fetching and building wheels is `envsnap.rebuild`'s job (`tests/render/test_pure.py`).
"""

from __future__ import annotations

from .baseimage import BaseChoice, choose
from .dockerfile import render
from .plan import Plan, make_plan

__all__ = ["BaseChoice", "Plan", "choose", "make_plan", "render"]
