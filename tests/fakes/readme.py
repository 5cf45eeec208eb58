"""README.md as a script: its blocks, the commands in them, and the output each should print.

Pure (no processes): `steps` reads the README into `Step` records, `normalise` takes out what
legitimately varies between runs and machines, `matches` compares. tests/test_readme.py runs
the steps on a fresh clone; the convention is described in its docstring.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["KINDS", "Block", "ReadmeError", "Step", "blocks", "matches", "normalise", "steps"]

# What a marker may say; each takes a reason but `docker` and `python`.
KINDS = ("skip", "xfail", "docker", "python", "provide", "again")
_MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(\w+)\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(```+|~~~+)\s*(\w*)")
_SHELL_FENCES = ("", "sh", "bash", "console", "shell", "shell-session")


class ReadmeError(ValueError):
    """The README breaks the convention (a message naming the line)."""


@dataclass(frozen=True)
class Block:
    """A code block: its first line (1-based), its text lines (dedented), its markers."""

    line: int
    lines: tuple[str, ...]
    markers: tuple[tuple[str, str], ...] = ()

    def marker(self, kind: str) -> str | None:
        """The text of the *kind* marker ("" when it has none), or None when absent."""
        return next((text for k, text in self.markers if k == kind), None)

    @property
    def session(self) -> bool:
        """Whether the block is a shell session: ``$ command`` lines, each with its output."""
        return any(ln.startswith("$ ") for ln in self.lines)


@dataclass(frozen=True)
class Step:
    """One thing to run: a command and the output the README shows, or a Python block."""

    line: int
    command: str
    expected: tuple[str, ...] = ()
    block: Block = field(default_factory=lambda: Block(0, ()))
    python: bool = False

    @property
    def id(self) -> str:
        """``L52 envsnap capture``: for test ids and messages."""
        first = self.command.splitlines()[0] if self.command else ""
        words = first.split(" #")[0].strip()
        return f"L{self.line} {'python block' if self.python else words}"[:80]


def _markers(pending: list[tuple[int, str, str]]) -> tuple[tuple[str, str], ...]:
    out = []
    for line, kind, text in pending:
        if kind not in KINDS:
            raise ReadmeError(f"README.md:{line}: unknown readme-test marker {kind!r}")
        if kind in ("skip", "xfail", "provide", "again") and not text:
            raise ReadmeError(f"README.md:{line}: `readme-test: {kind}` needs a reason")
        out.append((kind, text))
    return tuple(out)


def blocks(text: str) -> list[Block]:
    """The code blocks of *text*: indented (4 spaces after a blank line) and fenced shell
    ones at the top level (not in a quote or a list), with the markers just before them."""
    lines = text.splitlines()
    found: list[Block] = []
    pending: list[tuple[int, str, str]] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        marker = _MARKER.match(raw)
        fence = _FENCE.match(raw)
        if marker:
            pending.append((i + 1, marker.group(1), marker.group(2)))
            i += 1
        elif fence:
            end = next(
                (j for j in range(i + 1, len(lines)) if lines[j].startswith(fence.group(1))),
                len(lines),
            )
            if fence.group(2) in _SHELL_FENCES or pending:
                found.append(Block(i + 2, tuple(lines[i + 1 : end]), _markers(pending)))
            pending = []
            i = end + 1
        elif raw.startswith("    ") and (
            i == 0 or not lines[i - 1].strip() or _MARKER.match(lines[i - 1])
        ):
            start, body = i, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            found.append(Block(start + 1, tuple(body), _markers(pending)))
            pending = []
        else:
            if raw.strip() and pending:
                raise ReadmeError(
                    f"README.md:{pending[0][0]}: a readme-test marker not followed by a code "
                    "block (leave only blank lines between them)"
                )
            i += 1
    if pending:
        raise ReadmeError(f"README.md:{pending[0][0]}: a readme-test marker at the end")
    return found


def _session(block: Block) -> list[Step]:
    out: list[Step] = []
    command: list[str] = []
    expected: list[str] = []
    start = block.line

    def flush() -> None:
        if command:
            out.append(Step(start, "\n".join(command), tuple(expected), block))

    lines = list(block.lines)
    for offset, line in enumerate(lines):
        if line.startswith("$ "):
            flush()
            command, expected, start = [line[2:]], [], block.line + offset
        elif command and command[-1].endswith("\\") and not expected:
            command.append(line)  # a continued command line
        elif not command:
            raise ReadmeError(
                f"README.md:{block.line + offset}: output before the first `$ ` command"
            )
        else:
            expected.append(line)
    flush()
    return out


def steps(text: str) -> list[Step]:
    """Every step of the README in order; a block that is neither a session, nor Python, nor
    marked is an error, since nobody could tell whether it runs."""
    out: list[Step] = []
    for block in blocks(text):
        if block.marker("python") is not None:
            out.append(Step(block.line, "\n".join(block.lines), (), block, python=True))
        elif block.session:
            out.extend(_session(block))
        elif block.marker("skip") is not None:
            out.append(Step(block.line, "\n".join(block.lines), (), block))
        else:
            raise ReadmeError(
                f"README.md:{block.line}: a code block that is not a `$ ` session: prefix each "
                "command with `$ `, or mark it `<!-- readme-test: skip REASON -->` or "
                "`<!-- readme-test: python -->`"
            )
    return out


# A hash or hex id (7+ hex digits, at least one a decimal digit), then any number, version or
# duration (3.11.7, 5.2e-05, 24, 0.1.0): each becomes "#".
_HEX = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-f]*[0-9])[0-9a-f]{7,}(?![0-9A-Za-z])")
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*(?:e[+-]?[0-9]+)?")
# What the CPU decides: which sampled values of a probe differ (the two forms the battery
# prints, once numbers are #), and OpenBLAS's kernel name (Haswell, SkylakeX...). The README
# shows one machine's; another CPU prints its own. Any other text stays as it is.
_CORE_TYPE = re.compile(r"\(OpenBLAS core type\) \w+")
_SAMPLED = re.compile(
    r"bits differ \((?:# of # sampled values differ, max # ulps?, rel #"
    r"|outside the # sampled values, which all match)\)"
)


def normalise(text: str, replace: Sequence[tuple[str, str]] = ()) -> list[str]:
    """*text* as lines to compare: *replace* pairs applied first (this clone's folder reads as
    the README's), what the CPU decides as one text, hashes and numbers as ``#``, runs of spaces
    as one, no trailing blank line."""
    for old, new in replace:
        if old:
            text = text.replace(old, new)
    text = _CORE_TYPE.sub("(OpenBLAS core type) #", text)
    out = [" ".join(_NUMBER.sub("#", _HEX.sub("#", line)).split()) for line in text.splitlines()]
    out = [_SAMPLED.sub("bits differ (...)", line) for line in out]
    while out and not out[-1]:
        out.pop()
    return out


def matches(expected: Iterable[str], actual: Sequence[str]) -> bool:
    """Whether *actual* lines are the *expected* ones, where a line ``...`` stands for any
    number of lines (none included). Both sides normalised."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in actual)) is not None
