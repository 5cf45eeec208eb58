"""Render a capture into a Docker build context: base image, plan, Dockerfile, context files.

`make_plan` validates the (untrusted) lock and sorts packages into layers; `render` turns a plan
into Dockerfile text (pure); `write_context` writes the whole build context.
"""

from __future__ import annotations

from .base import BaseChoice, choose
from .dockerfile import render
from .plan import Plan, make_plan

__all__ = ["BaseChoice", "Plan", "choose", "make_plan", "render"]
