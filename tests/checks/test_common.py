"""envsnap.checks.rules._common: what the rules share."""

from __future__ import annotations

import itertools
import shlex

from envsnap.checks.rules._common import sh


def test_sh_quotes_as_shlex_quote_does() -> None:
    alphabet = ["a", "Z", "0", "_", "@", "%", "+", "=", ":", ",", ".", "/", "-", " ", "'", '"']
    alphabet += ["$", "`", "*", "\n", "\x00", "é", "\u00a0", "\\"]
    for n in range(4):
        for chars in itertools.product(alphabet, repeat=n):
            value = "".join(chars)
            assert sh(value) == shlex.quote(value), value
    assert sh("4 $(touch x)") == "'4 $(touch x)'"
