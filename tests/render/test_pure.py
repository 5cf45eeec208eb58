"""`envsnap.render` turns a plan into text and does nothing else: no process, network, file or
temporary folder. Read from the modules' source, so a new import fails here before it ships."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import envsnap.render

RENDER = Path(envsnap.render.__file__).parent
MODULES = sorted(RENDER.glob("*.py"))

# Modules that start processes, reach the network or touch the file system.
FORBIDDEN = ("subprocess", "socket", "ssl", "urllib.request", "http", "shutil", "tempfile")
# envsnap modules that do the same.
FORBIDDEN_OWN = ("_subprocess", "_io", "engine", "rebuild", "probes", "index")
# Calls that read or write files.
IO_CALLS = frozenset(
    {"open", "read_text", "read_bytes", "write_text", "write_bytes", "mkdir", "iterdir", "unlink"}
)


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(level, dotted name) of every import in *tree*, at any depth (lazy imports count)."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(0, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            out.append((node.level, base))
            out += [(node.level, f"{base}.{a.name}".strip(".")) for a in node.names]
    return out


def _banned(level: int, name: str) -> bool:
    if level == 0:
        return any(name == f or name.startswith(f + ".") for f in FORBIDDEN) or any(
            name == f"envsnap.{f}" or name.startswith(f"envsnap.{f}.") for f in FORBIDDEN_OWN
        )
    # `from ..x` in envsnap/render/m.py is envsnap.x; `from .x` stays inside render.
    return level == 2 and any(name == f or name.startswith(f + ".") for f in FORBIDDEN_OWN)


def test_render_has_modules() -> None:
    assert {m.name for m in MODULES} >= {"plan.py", "baseimage.py", "dockerfile.py", "validate.py"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_render_imports_no_io(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    bad = sorted({"." * lv + n for lv, n in _imports(tree) if _banned(lv, n)})
    assert bad == [], f"{module.name} imports {bad}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_render_calls_no_file_io(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    names = {f.id for f in calls if isinstance(f, ast.Name)}
    names |= {f.attr for f in calls if isinstance(f, ast.Attribute)}
    assert names & IO_CALLS == set(), f"{module.name} calls {sorted(names & IO_CALLS)}"


def test_the_check_catches_an_import() -> None:
    """The rule itself: an import of each kind is caught (the test above cannot pass vacuously)."""
    src = "import subprocess\nfrom .. import _subprocess\nfrom ..rebuild import context\n"
    found = [n for lv, n in _imports(ast.parse(src)) if _banned(lv, n)]
    assert "subprocess" in found and "_subprocess" in found and "rebuild" in found
