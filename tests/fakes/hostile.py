"""Hostile variants of every file kind the in door registers, and a driver that runs envsnap's
verbs on them in one watched process.

`plant` replaces a valid file of a capture with a variant: a symlink to a file outside, a FIFO,
a file one byte over the kind's size bound (sparse), nesting far deeper than any parser goes,
a YAML alias bomb, every value of the wrong type, or control characters in every string.
`plant_report` does the same to a node report for `envsnap fleet`.

Run as ``python -m tests.fakes.hostile CASES RESULTS``: each case is a list of argument lists,
run through `envsnap.cli.main` in this process with stdout and stderr captured and an alarm
that turns a hang into a result; RESULTS gets one JSON object per verb (exit status, output
tails, whether the CLI's catch-all fired, the process's peak RSS so far). One process for the
whole matrix: each verb's start-up would otherwise dominate.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

import tomli_w
import tomllib

from envsnap.formats.capture import Kind

__all__ = ["ALIAS_BOMB", "VARIANTS", "plant", "plant_report"]

VARIANTS = ("symlink", "fifo", "huge", "deep", "alias-bomb", "wrong-types", "control-chars")
CONTROL = "\x1b[2J\x1b]0;owned\x07\r\u202e\x85"
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]"
            for a, b in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "version: 1",
        "metadata: {platforms: [linux-64], channels: [*i]}",
        "package: [{name: x, version: '1', manager: conda, platform: linux-64, url: *i}]",
        "",
    ]
)
_KEEP = ("schema-version", "version", "kind")  # kept, so that validation goes past the version


def _flip(value: Any, key: str = "") -> Any:
    """*value* with every leaf of another type (the version keys kept)."""
    if key in _KEEP and isinstance(value, (int, str)):
        return value
    if isinstance(value, dict):
        return {k: _flip(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return {"0": _flip(value[0])} if value else "[]"
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return [str(value)]
    return 7 if len(value) % 2 else {"text": value}


def _spiked(value: Any) -> Any:
    """*value* with control, bidi and C1 characters in every string."""
    if isinstance(value, dict):
        return {k: _spiked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_spiked(v) for v in value]
    return value + CONTROL if isinstance(value, str) else value


def _data(text: str, syntax: str) -> Any:
    if syntax == "toml":
        return tomllib.loads(text)
    import yaml

    return yaml.safe_load(text)


def _dump(data: Any, syntax: str) -> str:
    if syntax == "toml":
        try:
            return tomli_w.dumps(data)
        except (TypeError, ValueError):  # a top-level value TOML cannot hold: as a string
            return tomli_w.dumps({"data": json.dumps(data)})
    return json.dumps(data)  # JSON is YAML, and not envsnap's own subset


def _bytes(path: Path, entry: Kind, variant: str) -> bytes:
    text = path.read_text(encoding="utf-8")
    if variant == "deep":
        if entry.syntax == "yaml":
            return (text + "deep: " + "[" * 5000 + "]" * 5000 + "\n").encode()
        return (text + "\nzz = " + "[" * 5000 + "]" * 5000 + "\n").encode()
    if variant == "alias-bomb":
        return ALIAS_BOMB.encode()
    if entry.syntax == "text":
        if variant == "wrong-types":
            return b"\xff\xfe\x00" + text.encode()
        return "".join(f"{ln}{CONTROL}\x00\n" for ln in text.splitlines()).encode()
    change = _flip if variant == "wrong-types" else _spiked
    return _dump(change(_data(text, entry.syntax)), entry.syntax).encode()


def plant(capture: Path, entry: Kind, variant: str, outside: Path) -> None:
    """Replace the valid *entry* file of *capture* with *variant* (files it needs go into
    *outside*, which is not part of the capture)."""
    path = capture / entry.name
    if variant == "symlink":
        outside.mkdir(parents=True, exist_ok=True)
        target = outside / entry.name
        target.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(target)
    elif variant == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif variant == "huge":
        path.unlink()
        with path.open("wb") as fh:
            fh.truncate(entry.limit + 1)  # sparse: nothing on disk
    else:
        path.write_bytes(_bytes(path, entry, variant))


def plant_report(reports: Path, good: Path, variant: str, outside: Path) -> Path:
    """A hostile ``hostile.json`` in *reports*, made from the valid node report *good*."""
    path = reports / "hostile.json"
    if variant == "symlink":
        outside.mkdir(parents=True, exist_ok=True)
        (outside / "r.json").write_bytes(good.read_bytes())
        path.symlink_to(outside / "r.json")
    elif variant == "fifo":
        os.mkfifo(path)
    elif variant == "huge":
        with path.open("wb") as fh:
            fh.truncate((1 << 20) + 1)
    elif variant == "deep":
        path.write_text('{"version": 1, "kind": "envsnap-node-report", "x": ' + "[" * 100_000)
    elif variant == "alias-bomb":
        path.write_text(ALIAS_BOMB)
    else:
        data = json.loads(good.read_text())
        path.write_text(json.dumps((_flip if variant == "wrong-types" else _spiked)(data)))
    return path


class _Hung(BaseException):  # not an Exception: the CLI must not catch and report it
    """Raised by the alarm in a verb that runs too long."""


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hung


def _run(argv: list[str], seconds: int) -> dict[str, Any]:
    from envsnap import cli

    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    hung = False
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    except _Hung:
        hung, code = True, -1
    finally:
        signal.alarm(0)
    return {
        "argv": argv,
        "code": code,
        "hung": hung,
        "stdout": out.getvalue()[-4000:],
        "stderr": err.getvalue()[-4000:],
        "seconds": round(time.monotonic() - started, 2),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    """Run every verb of every case in CASES (a JSON file); write one result a line."""
    cases, results = Path(sys.argv[1]), Path(sys.argv[2])
    seconds = int(os.environ.get("ENVSNAP_TEST_ALARM", "60"))  # a verb that takes longer hangs
    signal.signal(signal.SIGALRM, _alarm)
    with results.open("w", encoding="utf-8") as fh:
        for case in json.loads(cases.read_text(encoding="utf-8")):
            for argv in case["verbs"]:
                fh.write(json.dumps({"case": case["name"], **_run(argv, seconds)}) + "\n")
                fh.flush()


if __name__ == "__main__":
    main()
