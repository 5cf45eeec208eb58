"""`envsnap repro`: is the *result* the same? Run the user's own job several times, compare
what it made (weights tensor by tensor), find the setting that makes the runs agree, and show
whether another environment (a venv, a rebuilt image) reproduces this machine's outputs.

`flow.run` does the work; `result` holds the records and the verdict line; `compare` reads the
outputs by format; `scratch` copies the working directory per run; `explain` and `crossenv`
reuse the numerics attribution and remedies. Nothing here is imported by `envsnap check`.
"""

from __future__ import annotations

from .flow import Options, run
from .result import ReproResult
from .runs import RunFailed

__all__ = ["Options", "ReproResult", "RunFailed", "run"]
