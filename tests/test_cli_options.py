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
    assert short.returncode == 2 and "unrecognized arguments: --off" in short.stderr
    assert not (tmp_path / "c").exists()
    whole = cli("capture", "--offline", "--json", "-o", str(tmp_path / "c"))
    assert whole.returncode == 0, whole.stderr
    assert json.loads(whole.stdout)["packages"] > 0


def _long_options(verb: str) -> list[str]:
    parser = cli._verbs(cli.build_parser(verb))[verb]
    flags = [f for a in parser._actions for f in a.option_strings if f.startswith("--")]
    return [f for f in flags if f not in ("--help",)]


@pytest.mark.parametrize("verb", cli.COMMANDS)
def test_no_option_is_taken_for_a_prefix_of_it(verb: str) -> None:
    """`--stric` is an error, not `--strict` (argparse's abbreviations are off, issue #18)."""
    for flag in _long_options(verb):
        with pytest.raises(SystemExit) as exc:
            cli.build_parser(verb).parse_args([verb, flag[:-1]], namespace=SimpleNamespace())
        assert exc.value.code == 2, flag


def test_a_mistyped_strict_is_refused_by_the_cli(cli, tmp_path: Path) -> None:
    done = cli("check", str(tmp_path), "--stric")
    assert done.returncode == 2
    assert "unrecognized arguments: --stric" in done.stderr


@pytest.mark.parametrize(
    ("verb", "collector"), [("check", False), ("capture", False), ("diff", True)]
)
def test_the_short_verbs_started_as_commands_run_without_the_cyclic_collector(
    verb: str, collector: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import sys

    seen: list[bool] = []

    def main() -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(cli, "main", main)
    monkeypatch.setattr(sys, "argv", ["envsnap", verb, "x"])
    try:
        with pytest.raises(SystemExit):
            cli.entry()
    finally:
        gc.enable()
    assert seen == [collector]
