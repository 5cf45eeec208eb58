"""Rules on the interpreter: implementation, version, ABI and free-threading."""

from __future__ import annotations

from envsnap.findings import Finding
from envsnap.knowledge import version_tuple
from envsnap.model import Snapshot

__all__ = ["RULES", "python_abi", "python_version"]


def python_version(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """Another implementation or X.Y is an error: compiled wheels and bytecode do not carry over.

    A patch-level change (3.11.7 → 3.11.9) keeps the ABI, so every locked wheel still installs
    and imports; it is a warning because bug fixes in the interpreter and its bundled libraries
    (e.g. `math`, `random`, `hashlib`) can still change results.
    """
    rec, cur = recorded.environment.python, current.environment.python
    remedy = f"use {rec.implementation} {rec.version} (envsnap check --python PATH)"
    if rec.implementation.lower() != cur.implementation.lower():
        return [
            Finding(
                "error",
                "python",
                "python.implementation",
                "another Python implementation",
                rec.implementation,
                cur.implementation,
                remedy,
            )
        ]
    if version_tuple(rec.version)[:2] != version_tuple(cur.version)[:2]:
        return [
            Finding(
                "error",
                "python",
                "python.version",
                "another Python version: compiled wheels will not import",
                rec.version,
                cur.version,
                remedy,
            )
        ]
    if rec.version != cur.version:
        return [
            Finding(
                "warning",
                "python",
                "python.patch",
                "another Python patch release",
                rec.version,
                cur.version,
                remedy,
            )
        ]
    return []


def python_abi(recorded: Snapshot, current: Snapshot) -> list[Finding]:
    """A free-threaded vs GIL build, or another SOABI, loads other extension modules: error
    (the locked compiled wheels do not import)."""
    rec, cur = recorded.environment.python, current.environment.python
    if rec.gil_disabled != cur.gil_disabled:
        label = {True: "free-threaded", False: "GIL"}
        return [
            Finding(
                "error",
                "python",
                "python.abi",
                "another Python build: free-threaded and GIL builds need different wheels",
                label[rec.gil_disabled],
                label[cur.gil_disabled],
                f"use a {label[rec.gil_disabled]} build of Python {rec.version}",
            )
        ]
    if rec.soabi and cur.soabi and rec.soabi != cur.soabi and rec.version == cur.version:
        return [
            Finding(
                "error",
                "python",
                "python.abi",
                "another Python ABI",
                rec.soabi,
                cur.soabi,
                f"use a Python {rec.version} build with ABI {rec.soabi}",
            )
        ]
    return []


RULES = (python_version, python_abi)
