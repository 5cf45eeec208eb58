"""Every rule says in its docstring what makes it an error (or that nothing does)."""

from __future__ import annotations

import inspect

import pytest

from envsnap.checks.runner import ALL_RULES


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.__name__)
def test_every_rule_says_what_makes_it_an_error(rule: object) -> None:
    doc = inspect.getdoc(rule) or ""
    assert "error" in doc.lower(), f"{rule.__name__}: say what makes it an error (or 'never')"
