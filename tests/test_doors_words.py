"""The words and processes doors are the only way (doors.md), read from every module's AST.

- Only `envsnap/_subprocess.py` starts processes: no other module imports `subprocess`, calls
  `os.system`, `os.popen`, `os.exec*`, `os.spawn*`, `os.posix_spawn*` or a `Popen`, and none
  runs git through the plain `run` (git goes through the hardened `_subprocess.git`).
- Only `envsnap/_redact.py` takes a URL's userinfo apart: no other module reads ``.username``
  or ``.password`` of a parsed URL, splits on ``@`` where it parses URLs (``urlsplit``,
  ``urlparse``, ``.netloc``), or matches a userinfo ``@`` with a regular expression.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import envsnap

PACKAGE = Path(envsnap.__file__).parent
SUBPROCESS_DOOR = PACKAGE / "_subprocess.py"
WORDS_DOOR = PACKAGE / "_redact.py"
# Text run inside the *target* interpreter (`python -c SOURCE`), which cannot import envsnap:
# it reads the musl loader's version there, in that process, never here.
IN_TARGET = {PACKAGE / "probes" / "_target_script.py"}

_OS_STARTERS = re.compile(r"^(system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork\w*)$")
_OTHER_STARTERS = {"pty.spawn", "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell"}
_URL_PARSERS = {"urlsplit", "urlparse", "urlunsplit", "urlunparse", "netloc"}
_SPLITTERS = {"split", "rsplit", "partition", "rpartition", "find", "rfind", "index", "rindex"}
_RE_FUNCTIONS = {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall"}
_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")  # a character class, escapes included


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain or name, else ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


def _where(path: Path, node: ast.AST) -> str:
    shown = path.relative_to(PACKAGE.parent) if PACKAGE.parent in path.parents else path.name
    return f"{shown}:{getattr(node, 'lineno', 0)}"


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def process_starts(path: Path) -> Iterator[str]:
    """Where the module at *path* starts a process other than through the door."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "subprocess" for a in node.names):
            yield f"{_where(path, node)} imports subprocess"
        elif isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "pty"):
            yield f"{_where(path, node)} imports from {node.module}"
        elif isinstance(node, ast.Call):
            called = _name(node.func)
            head, _, last = called.rpartition(".")
            starts = head == "os" and _OS_STARTERS.match(last) is not None
            if starts or last == "Popen" or called in _OTHER_STARTERS:
                yield f"{_where(path, node)} calls {called}"
            elif last in ("run", "run_bytes") and node.args:
                first = node.args[0]
                if isinstance(first, (ast.List, ast.Tuple)) and first.elts:
                    word = first.elts[0]
                    if isinstance(word, ast.Constant) and word.value == "git":
                        yield f"{_where(path, node)} runs git outside _subprocess.git"


def _functions(tree: ast.AST) -> Iterator[ast.AST]:
    yield tree  # module level
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _names_in(node: ast.AST) -> set[str]:
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
    return found


def _userinfo_regex(pattern: str) -> bool:
    """True when *pattern* matches a literal ``@`` right after a repeated part or a group
    (``[^@/]+@``, ``(...)@``: the end of a user part), other than the ``@sha256:`` of an
    image digest: the shape of ``user@host`` parsing. An ``@`` alone (``(@)``) is no user."""
    bare = _CLASS.sub("X", pattern)
    return re.search(r"[X+*?})]@(?!\(?sha\d)", bare) is not None


def userinfo_parsing(path: Path) -> Iterator[str]:
    """Where the module at *path* takes a URL's userinfo apart itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("username", "password"):
            yield f"{_where(path, node)} reads .{node.attr}"
        if isinstance(node, ast.Call) and _name(node.func).rpartition(".")[::2] in {
            ("re", f) for f in _RE_FUNCTIONS
        }:
            first = node.args[0] if node.args else None
            pattern = first.value if isinstance(first, ast.Constant) else None
            if isinstance(pattern, str) and _userinfo_regex(pattern):
                yield f"{_where(path, node)} matches userinfo with {pattern!r}"
    for function in _functions(tree):
        if function is tree:
            continue
        if not _names_in(function) & _URL_PARSERS:
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _SPLITTERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "@"
            ):
                yield f"{_where(path, node)} splits a URL on '@'"


@pytest.mark.parametrize(
    "path", [p for p in modules() if p != SUBPROCESS_DOOR and p not in IN_TARGET], ids=_id
)
def test_only_the_processes_door_starts_processes(path: Path) -> None:
    found = list(process_starts(path))
    assert found == [], "start it through envsnap._subprocess: " + "; ".join(found)


@pytest.mark.parametrize("path", [p for p in modules() if p != WORDS_DOOR], ids=_id)
def test_only_the_words_door_parses_userinfo(path: Path) -> None:
    found = list(userinfo_parsing(path))
    assert found == [], "use envsnap._redact (url, request, locate): " + "; ".join(found)


def test_the_readers_find_what_they_look_for(tmp_path: Path) -> None:
    """The detectors themselves, on the shapes main had (so that a pass means something)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import re, subprocess, os\n"
        "from urllib.parse import urlsplit\n"
        "from ._subprocess import run\n"
        "_SCP = re.compile(r'^(?:[^@/:\\s]+@)?([A-Za-z0-9.-]+):(?!//)(.+)$')\n"
        "def strip(url):\n"
        "    parts = urlsplit(url)\n"
        "    return parts.netloc.rsplit('@', 1)[-1], parts.username, parts.password\n"
        "def go():\n"
        "    os.system('x'); subprocess.Popen(['x']); os.execvp('x', ['x'])\n"
        "    run(['git', '-C', '.', 'status'])\n"
    )
    assert len(list(userinfo_parsing(bad))) == 4
    assert len(list(process_starts(bad))) == 5
    fine = tmp_path / "fine.py"
    fine.write_text(
        "import re\n"
        "_AUTOLINK = re.compile(r'(?i)(:)(?=//)|(?<![A-Za-z0-9])(www)(\\.)|(@)')\n"
        "_DIGEST = re.compile(r'^([a-z0-9][a-z0-9._/:-]*)@(sha256:[0-9a-f]{64})$')\n"
        "_SAFE = re.compile(r'^[A-Za-z0-9._/:@+=,~%^ -]+$')\n"
        "def repository(ref):\n"
        "    return ref.split('@', 1)[0]\n"
    )
    assert list(userinfo_parsing(fine)) == []
