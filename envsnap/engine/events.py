"""Build events and the pure parser of the Docker Engine's classic-builder JSON stream.

The engine adapters (`envsnap.engine.docker`, later a buildx one) turn what their engine sends
into these events, so that the progress display and `envsnap rebuild` never see an engine API.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

from envsnap.errors import BuildError

from .._record import Record, record
from .._regex import lazy

__all__ = [
    "TAIL_LINES",
    "BuildEvent",
    "Cached",
    "Done",
    "Output",
    "Step",
    "StepFailed",
    "meaningful",
    "parse_stream",
]

TAIL_LINES = 20

_STEP = lazy(r"^Step (\d+)/(\d+) : (.*)$")
_LAYER = lazy(r"^ ---> ([0-9a-f]{12,64})$")
_BUILT = lazy(r"^Successfully built ([0-9a-f]{12,64})$")
_TAGGED = lazy(r"^Successfully tagged (\S+)$")
# The builder colours a step's stderr red; the terminal codes are not part of the output.
_ANSI = lazy(r"\x1b\[[0-9;]*m")
# Builder chatter between steps: not the output of a command.
_NOISE = lazy(r"^( ---> Running in [0-9a-f]+|Removing intermediate container [0-9a-f]+)$")


@record
class Step(Record):
    """Step *number* of *total* starts; *text* is the instruction as the builder shows it."""

    number: int
    total: int
    text: str


@record
class Output(Record):
    """One line printed by the current step (or by the builder about it)."""

    line: str


@record
class Cached(Record):
    """Step *step* was not run: the builder reused a layer from its cache."""

    step: int


@record
class Done(Record):
    """The image was built.

    *base_image* is the final stage's FROM reference as written; *base_image_id* the image the
    daemon resolved it to; *base_digest* a reference that pins that base: ``name@sha256:…``
    when the daemon knows a registry digest (valid in any FROM line), else the local image ID
    ``sha256:…`` (a FROM by ID works only on that daemon, with the classic builder). The parser
    leaves *base_digest* empty; the engine adapter fills it in.
    """

    image_id: str
    tag: str | None
    base_image: str
    base_image_id: str
    base_digest: str = ""


BuildEvent = Union[Step, Output, Cached, Done]


class StepFailed(BuildError):
    """A build step failed (exit 1): which step, the daemon's error, and the last output lines.

    The message is one line (the step, shortened, and the error); `details` are the last
    meaningful lines of output (`meaningful`), which the CLI prints as lines of their own.
    """

    def __init__(self, step: Step | None, error: str, tail: tuple[str, ...]):
        self.step = step
        self.error = error
        self.tail = tail
        where = "before the first step"
        if step is not None:
            where = f"step {step.number}/{step.total} ({_short(step.text, STEP_CHARS)})"
        shown = meaningful(tail)
        details = (f"last {len(shown)} lines of output:", *(f"  {line}" for line in shown))
        hint = None
        if step is not None and _from_reference(step.text) is not None:
            hint = (
                "the base image is not on this daemon and no registry answered: build it "
                "locally (images/ in the envsnap repository) or pass --base-image"
            )
        super().__init__(
            f"build failed at {where}: {_short_error(error)}",
            hint=hint,
            details=details if shown else (),
        )


# How much of a step's instruction the error line shows, and of each output line.
STEP_CHARS = 100
LINE_CHARS = 300
SHOWN_LINES = 10
# pip's retry warnings say the same thing up to five times before the real error.
_RETRY = lazy(r"^WARNING: Retrying \(Retry\(")
_NONZERO = lazy(r"^The command .* returned a non-zero code: (\d+)$", re.DOTALL)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _short_error(error: str) -> str:
    """The daemon's error, without the whole command it repeats from the step line."""
    m = _NONZERO.match(error.strip())
    return f"the command exited with code {m[1]}" if m else _short(error, LINE_CHARS)


def meaningful(tail: tuple[str, ...]) -> tuple[str, ...]:
    """The last lines of a failed step worth reading: of pip's retry warnings only the last
    (it names the cause), no line twice in a row, each line shortened."""
    retries = [n for n, line in enumerate(tail) if _RETRY.match(line)]
    kept: list[str] = []
    for n, line in enumerate(tail):
        if (retries and _RETRY.match(line) and n != retries[-1]) or (kept and kept[-1] == line):
            continue
        kept.append(line)
    return tuple(_short(line, LINE_CHARS) for line in kept[-SHOWN_LINES:])


def _from_reference(text: str) -> str | None:
    """The image named by a ``FROM [--platform=…] image [AS name]`` instruction, else None."""
    words = [w for w in text.split() if not w.startswith("--")]
    if len(words) >= 2 and words[0].upper() == "FROM":
        return words[1]
    return None


class _Parser:
    """The state of one build stream: current step, base image, output tail, result."""

    def __init__(self) -> None:
        self.step: Step | None = None
        self.base_ref = ""
        self.base_id = ""
        self.in_from = False
        self.image_id = ""
        self.tag: str | None = None
        self.pending = ""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)

    def text(self, chunk: str) -> Iterator[BuildEvent]:
        """Split stream text into lines (a chunk may hold several, or part of one)."""
        self.pending += chunk
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            yield from self.line(_ANSI.sub("", line).rstrip("\r"))

    def line(self, line: str) -> Iterator[BuildEvent]:
        """Classify one complete line of builder output."""
        if not line.strip() or _NOISE.match(line):
            return
        if m := _STEP.match(line):
            self.step = Step(int(m[1]), int(m[2]), m[3])
            ref = _from_reference(m[3])
            self.in_from = ref is not None
            if ref is not None:
                self.base_ref, self.base_id = ref, ""
            self.tail.clear()
            yield self.step
        elif line == " ---> Using cache":
            yield Cached(self.step.number if self.step else 0)
        elif m := _LAYER.match(line):
            if self.in_from and not self.base_id:
                self.base_id = m[1]
        elif m := _BUILT.match(line):
            self.image_id = self.image_id or m[1]
        elif m := _TAGGED.match(line):
            self.tag = self.tag or m[1]
        else:
            self.tail.append(line)
            yield Output(line)

    def fail(self, chunk: Mapping[str, Any]) -> StepFailed:
        """The error a chunk with an ``error`` key stands for."""
        detail = chunk.get("errorDetail")
        message = detail.get("message") if isinstance(detail, Mapping) else None
        error = str(message or chunk.get("error") or "unknown error").strip()
        return StepFailed(self.step, error, tuple(self.tail))


def parse_stream(chunks: Iterable[Mapping[str, Any]]) -> Iterator[BuildEvent]:
    """Turn decoded classic-builder JSON chunks into events, ending with `Done`.

    Raises `StepFailed` on an error chunk, `BuildError` when the stream ends without an image.
    """
    parser = _Parser()
    for chunk in chunks:
        if "error" in chunk or "errorDetail" in chunk:
            yield from parser.text("\n")
            raise parser.fail(chunk)
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("ID"), str):
            parser.image_id = aux["ID"]
        stream = chunk.get("stream")
        if isinstance(stream, str):
            yield from parser.text(stream)
        elif isinstance(chunk.get("status"), str) and not chunk.get("progressDetail"):
            yield from parser.line(str(chunk["status"]))
    yield from parser.text("\n")
    if not parser.image_id:
        raise BuildError("the build stream ended without an image ID (was the build cancelled?)")
    yield Done(parser.image_id, parser.tag, parser.base_ref, parser.base_id)
