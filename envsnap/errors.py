"""The one error root: every expected failure is an EnvsnapError with an exit code and a hint."""

from __future__ import annotations

__all__ = [
    "BuildError",
    "CaptureError",
    "CheckFailed",
    "EnvsnapError",
    "InputError",
]


class EnvsnapError(Exception):
    """An expected failure that the CLI turns into one line and an exit status.

    Its message, hint and *details* often quote a third party (git, pip, Docker, MLflow, a
    file): each line passes through the words door (`envsnap._redact.text`) here, so that no URL
    credential or terminal control reaches a user, a log or a traceback, whoever prints the
    error. *details* are lines that explain it (the last lines of a failed build's output): the
    CLI prints each as a line of its own, indented, between the message and the hint.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        exit_code: int | None = None,
        details: tuple[str, ...] = (),
    ):
        from ._redact import text  # only when something fails

        message = "\n".join(text(line) for line in message.split("\n"))
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else "\n".join(text(ln) for ln in hint.split("\n"))
        self.details = tuple(text(line) for line in details)
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class InputError(EnvsnapError):
    """Bad input: a missing, unreadable or malformed file or argument (exit 2)."""


class CaptureError(EnvsnapError):
    """The environment could not be captured (exit 2)."""


class BuildError(EnvsnapError):
    """An image or virtualenv build step failed (exit 1)."""

    exit_code = 1


class CheckFailed(EnvsnapError):
    """`require()` found errors: the machine will not run the job as recorded (exit 1)."""

    exit_code = 1
