"""The verbs that start jobs read plain command lines without argparse, exactly as argparse."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from envsnap import cli
from envsnap.commands import capture, check
from envsnap.commands.options import fast_parse
from tests.fakes.imports import python_without_site

CASES = {
    "capture": [
        [],
        ["-o", "out"],
        ["--output", "out", "--offline"],
        ["--output=out", "--python", "/x/bin/python", "--json", "-q"],
        ["--python=/x/bin/python", "--offline", "--offline"],
        ["-o", "a", "-o", "b"],
        ["--quiet", "--json"],
        # not surely argparse's reading: left to argparse
        ["--off"],
        ["-qo", "out"],
        ["-o=out"],
        ["--offline=yes"],
        ["-o"],
        ["-o", "--json"],
        ["--", "x"],
        ["stray"],
        ["--help"],
        ["-"],
    ],
    "check": [
        [],
        ["cap"],
        ["cap", "--strict"],
        ["--json", "cap", "--python", "/x/bin/python"],
        ["--python=/x/bin/python", "cap"],
        # left to argparse
        ["cap", "other"],
        ["--js"],
        ["--strict=1"],
        ["-h"],
        ["--python"],
    ],
}


def _argparse(verb: str, argv: list[str]) -> dict[str, object] | None:
    try:
        ns = cli.build_parser(verb).parse_args([verb, *argv], namespace=SimpleNamespace())
    except SystemExit:
        return None
    values = vars(ns)
    values.pop("func"), values.pop("command")
    return values


@pytest.mark.parametrize(
    ("verb", "argv"), [(verb, argv) for verb, cases in CASES.items() for argv in cases]
)
def test_fast_parse_reads_as_argparse_or_steps_aside(verb: str, argv: list[str]) -> None:
    module = {"capture": capture, "check": check}[verb]
    fast = fast_parse(argv, module.OPTIONS, module.POSITIONAL)
    if fast is not None:
        assert vars(fast) == _argparse(verb, argv)


def test_every_plain_case_takes_the_fast_path() -> None:
    plain = {"capture": 7, "check": 5}  # the cases above the "left to argparse" line
    for verb, count in plain.items():
        module = {"capture": capture, "check": check}[verb]
        got = [fast_parse(a, module.OPTIONS, module.POSITIONAL) for a in CASES[verb]]
        assert [g is not None for g in got] == [True] * count + [False] * (len(got) - count)


def test_a_capture_from_the_command_line_imports_no_argparse(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from envsnap.cli import main\n"
        f"code = main(['capture', '--offline', '-q', '-o', {str(tmp_path / 'cap')!r}])\n"
        # gettext, not locale: capture runs git (project.toml), and subprocess imports locale
        "print(code, 'argparse' in sys.modules, 'gettext' in sys.modules)\n"
    )
    env = {"ENVSNAP_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    argv, env = python_without_site(env)  # no .pth file: what loads is envsnap's doing
    done = subprocess.run([*argv, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False", "False"]
    assert (tmp_path / "cap" / "pylock.toml").is_file()


def test_help_and_errors_still_come_from_argparse(cli, tmp_path: Path) -> None:
    helped = cli("capture", "--help")
    assert helped.returncode == 0 and "--offline" in helped.stdout
    bad = cli("check", "--bogus")
    assert bad.returncode == 2 and "unrecognized arguments: --bogus" in bad.stderr
    short = cli("capture", "--off", "--json", "-o", str(tmp_path / "c"))  # an abbreviation
    assert short.returncode == 0, short.stderr
    assert json.loads(short.stdout)["packages"] > 0
