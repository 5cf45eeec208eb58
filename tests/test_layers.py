"""The layers of envsnap, read from the imports in its source (ast): each package imports only the
packages its row below allows, and no two packages import each other, directly or round about.

A unit is a top-level package (``envsnap/rebuild/``) or module (``envsnap/model.py``) of envsnap.
Imports inside functions count (a lazy import is still a dependency); imports under
``if TYPE_CHECKING:`` do not (they never run: annotations only).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import envsnap

PACKAGE = Path(envsnap.__file__).parent

# Modules every layer may use; they import only each other (the cycle test keeps them acyclic).
# `__version__` stands for `from envsnap import __version__`, set before anything else loads.
LEAVES = frozenset(
    {
        "__version__",
        "_captureset",
        "_defaults",
        "_envvars",
        "_io",
        "_names",
        "_record",
        "_redact",
        "_regex",
        "_subprocess",
        "_text",
        "errors",
    }
)

# unit -> the units (besides the leaves and itself) it may import. Top to bottom.
ALLOWED: dict[str, frozenset[str]] = {
    "__main__": frozenset({"cli"}),
    "__init__": frozenset({"api"}),  # the lazy facade: envsnap.capture() loads envsnap.api
    "cli": frozenset({"commands"}),
    "commands": frozenset(
        {
            "api",
            "repro",
            "mlflow",
            "wandb",
            "aim",
            "publish",
            "fleet",
            "rebuild",
            "checks",
            "numerics",
            "probes",
            "formats",
            "findings",
            "model",
        }
    ),
    # the tracker integrations: each logs the one view of a capture (trackers.view)
    "mlflow": frozenset({"trackers"}),
    "wandb": frozenset({"trackers"}),
    "aim": frozenset({"trackers"}),
    "trackers": frozenset({"publish", "formats", "model"}),
    "api": frozenset(
        {"repro", "rebuild", "fleet", "checks", "probes", "formats", "findings", "model"}
    ),
    # run the user's job, compare its outputs; explain with the numerics remedies and knowledge,
    # across environments through the engine (images) and the numerics battery's facts
    "repro": frozenset({"numerics", "engine", "probes", "knowledge", "formats"}),
    "publish": frozenset({"rebuild", "checks", "knowledge", "formats", "findings", "model"}),
    "fleet": frozenset({"checks", "numerics", "probes", "findings", "formats", "model"}),
    # the rebuild flow: plan and render (pure), the context on disk, the engine behind its interface
    "rebuild": frozenset({"render", "engine", "formats", "index", "model"}),
    # check = capture this machine (probes) + the recorded files (formats) + the rules (knowledge)
    "checks": frozenset(
        {"numerics", "probes", "knowledge", "formats", "findings", "cudause", "model"}
    ),
    "numerics": frozenset({"probes", "findings", "formats", "model"}),
    "probes": frozenset({"index", "formats", "model"}),
    "render": frozenset({"formats", "cudause", "model"}),
    "engine": frozenset(),
    "index": frozenset({"model"}),
    "formats": frozenset({"model"}),
    "knowledge": frozenset(),
    "findings": frozenset(),
    "cudause": frozenset({"model"}),
    "model": frozenset(),
}


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of *tree* outside ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        test = node.test if isinstance(node, ast.If) else None
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(path: Path) -> set[str]:
    """The envsnap modules (dotted) that the module at *path* imports at run time."""
    name, is_package = _module_name(path)
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                # `from pkg import sub` imports the submodule when there is one; `from envsnap
                # import __version__` only the version, set before the package loads anything.
                sub = f"{module}.{alias.name}"
                found.add(sub if _existing(sub) or sub == "envsnap.__version__" else module)
    return {m for m in found if m == "envsnap" or m.startswith("envsnap.")}


def unit(module: str) -> str:
    """The top-level unit of dotted *module*: ``envsnap.rebuild.venv`` -> ``rebuild``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _existing(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def edges() -> dict[str, set[str]]:
    """unit -> the other units it imports (names imported from a module count as that module)."""
    out: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        src = unit(_module_name(path)[0])
        targets = out.setdefault(src, set())
        for module in imports(path):
            if module == "envsnap.__version__":
                targets.add("__version__")
            else:
                targets.add(unit(module))
        targets.discard(src)
    return out


GRAPH = edges()


def test_every_unit_has_a_row() -> None:
    units = set(GRAPH)
    assert units - LEAVES - {"__version__"} == set(ALLOWED), (
        "a new top-level package or module needs its row in ALLOWED (or LEAVES)"
    )


@pytest.mark.parametrize("src", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(src: str) -> None:
    extra = GRAPH.get(src, set()) - ALLOWED[src] - LEAVES
    assert extra == set(), f"envsnap.{src} imports {sorted(extra)}: not in its layer row"


@pytest.mark.parametrize("leaf", sorted(LEAVES - {"__version__"}))
def test_leaves_import_only_leaves(leaf: str) -> None:
    extra = GRAPH.get(leaf, set()) - LEAVES
    assert extra == set(), f"envsnap.{leaf} is a leaf but imports {sorted(extra)}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once, from where it closes)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_cycle_between_units() -> None:
    assert cycles(GRAPH) == []


def test_no_cycle_between_modules() -> None:
    """Module by module too: the old render.local <-> wheelhouse <-> wheelcache circle is gone."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)[0]
        graph[name] = {m for m in imports(path) if m != name and m != "envsnap.__version__"}
    # A package's __init__ that re-exports its own submodules is not a cycle of the design.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    assert cycles(graph) == []


def test_the_checks_can_fail() -> None:
    """The walk finds a planted cycle and the table catches an import across the layers."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert "rebuild" not in ALLOWED["render"] and "checks" not in ALLOWED["probes"]
    assert "render" in GRAPH["rebuild"] and "engine" in GRAPH["rebuild"]


def test_test_modules_import_no_other_test_module() -> None:
    """Shared test helpers live in tests/fakes/; a test module imports no other test module."""
    tests = Path(__file__).resolve().parent
    bad: list[str] = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "tests" and any(p.startswith("test_") for p in parts[1:]):
                    bad.append(f"{path.relative_to(tests)}: {name}")
    assert bad == []
