"""envsnap.index.pipconfig: pip.conf files read as pip's configparser reads them."""

from __future__ import annotations

import configparser
import itertools
import random

from envsnap.index import pipconfig

LINES = [
    "[global]", "[install]", "[DEFAULT]", "[other]", "[ global ]", "[global] x", "[glo]bal]",
    "index-url = https://pypi.example/simple", "INDEX_URL=https://u:p@x.example/s",
    "find-links: /srv/wheels", "extra-index-url =", "no-index = yes", "timeout=5 ; not a comment",
    "  https://second.example/simple", "\thttps://tabbed.example", "# comment", "; comment",
    "   # indented comment", "", "   ", "key", "= value", ": value", "a = b = c", "a: b = c",
    "index-url = https://é.example", "x = y\r", "--find-links=/x",
]  # fmt: skip


def _configparser(text: str) -> dict[str, dict[str, str]]:
    """What pipconfig read with configparser alone (before its plain reader)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    return {
        section: {k.replace("_", "-").lstrip("-"): v for k, v in parser.items(section)}
        for section in ("global", "install")
        if parser.has_section(section)
    }


def test_every_file_reads_as_configparser_reads_it() -> None:
    texts = ["\n".join(p) for n in range(4) for p in itertools.product(LINES, repeat=n)]
    rng = random.Random(21)
    texts += ["\n".join(rng.choices(LINES, k=rng.randint(4, 12))) for _ in range(3000)]
    plain = 0
    for text in texts:
        assert pipconfig._read_sections(text) == _configparser(text), text
        plain += pipconfig._plain_sections(text) is not None
    assert plain > 1000  # the plain reader does serve files (the rest go to configparser)


def test_a_plain_pip_conf_is_read_without_configparser() -> None:
    from tests.fakes.imports import loaded

    text = (
        "[global]\nindex-url = https://pypi.example/simple\n# a comment\n\n[install]\nno-index=1\n"
    )
    code = (
        "from envsnap.index import pipconfig\n"
        f"assert pipconfig._read_sections({text!r})['install'] == {{'no-index': '1'}}\n"
    )
    assert loaded(code, ("configparser",)) == []
