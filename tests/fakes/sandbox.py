"""Hostile captures for the security tests."""

from __future__ import annotations

from pathlib import Path


def add_packages(capture: Path, tables: str) -> None:
    """Put ``[[packages]]`` *tables* into the capture's pylock.toml (in place of ``[]``)."""
    lock = capture / "pylock.toml"
    text = lock.read_text()
    assert "packages = []\n" in text
    head, tool = text.replace("packages = []\n", "").split("[tool.envsnap]\n", 1)
    lock.write_text(head + tables + "\n[tool.envsnap]\n" + tool)
