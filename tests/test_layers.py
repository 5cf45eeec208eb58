"""The layers of envsnap, read from the imports in its source (ast): each package imports only the
packages its row below allows, and no two packages import each other, directly or round about.

A unit is a top-level package (``envsnap/rebuild/``) or module (``envsnap/model.py``) of envsnap.
Imports inside functions count (a lazy import is still a dependency), and so do imports under
``if TYPE_CHECKING:``: a name used only in annotations is still a dependency of the design (the
layer that holds a type is below every layer whose records hold one). Only the module cycle test
leaves them out, as Python does at run time.

A module whose name starts with ``_`` (``checks/rules/_common.py``) is private to the package
that holds it: only modules inside that package import it, and no module reaches another
package's private names (``probes._now``); the leaves (``envsnap/_io.py``...) are private to
envsnap and shared by all of it.
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
        "_cache",
        "_captureset",
        "_defaults",
        "_envvars",
        "_io",
        "_jsonfast",
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
    # the commands parse arguments, call the API and render its records (tests/test_api_front.py)
    "commands": frozenset({"api", "checks", "fleet", "numerics", "rebuild", "repro"}),
    # the one front door: every verb as a typed function returning a record
    "api": frozenset(
        {
            "repro",
            "mlflow",
            "wandb",
            "aim",
            "trackers",
            "publish",
            "rebuild",
            "fleet",
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
    # run the user's job, compare its outputs; explain with the numerics remedies and knowledge,
    # across environments through the engine (images) and the numerics battery's facts
    "repro": frozenset({"numerics", "engine", "probes", "knowledge", "formats"}),
    "publish": frozenset({"checks", "knowledge", "formats", "findings", "model"}),
    # a node's check is `check`'s own (checks.check_snapshot): the fleet probes nothing itself
    "fleet": frozenset({"checks", "findings", "formats", "model"}),
    # the rebuild flow: plan and render (pure), the context on disk, the engine behind its interface
    "rebuild": frozenset({"render", "engine", "formats", "index", "model"}),
    # check = capture this machine (probes) + the recorded files (formats) + the rules (knowledge)
    "checks": frozenset(
        {"numerics", "probes", "knowledge", "formats", "findings", "cudause", "model"}
    ),
    "numerics": frozenset({"findings", "formats", "model"}),
    "probes": frozenset({"index", "formats", "model"}),
    "render": frozenset({"formats", "cudause", "model"}),
    "engine": frozenset(),
    "index": frozenset({"model"}),
    "formats": frozenset({"model"}),
    "knowledge": frozenset({"formats"}),  # its TOML files are read by the in door's reader
    "findings": frozenset(),
    "cudause": frozenset({"model"}),
    "model": frozenset(),
}


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _nodes(tree: ast.AST, *, typing: bool) -> Iterator[ast.AST]:
    """Every node of *tree*; without *typing*, none inside ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        test = node.test if isinstance(node, ast.If) else None
        if not typing and isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_nodes(child, typing=False)])
            continue
        yield node
        yield from _nodes(node, typing=typing)


def _from_module(node: ast.ImportFrom, here: str) -> str:
    """The dotted module a ``from ... import`` in package *here* imports from."""
    if not node.level:
        return node.module or ""
    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(path: Path, *, typing: bool = True) -> set[str]:
    """The envsnap modules (dotted) that the module at *path* imports (without *typing*: at run
    time only, leaving out ``if TYPE_CHECKING:`` blocks)."""
    name, is_package = _module_name(path)
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), typing=typing):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = _from_module(node, here)
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
        runtime = imports(path, typing=False)
        graph[name] = {m for m in runtime if m != name and m != "envsnap.__version__"}
    # A package's __init__ that re-exports its own submodules is not a cycle of the design.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    assert cycles(graph) == []


def test_the_checks_can_fail() -> None:
    """The walk finds a planted cycle and the table catches an import across the layers."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert "rebuild" not in ALLOWED["render"] and "checks" not in ALLOWED["probes"]
    assert "render" in GRAPH["rebuild"] and "engine" in GRAPH["rebuild"]


def _private_part(module: str) -> int | None:
    """The index of the first ``_private`` component of dotted *module* (dunders are not)."""
    parts = module.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return i
    return None


def _inside(importer: str, owner: str) -> bool:
    return importer == owner or importer.startswith(owner + ".")


def private_reaches(path: Path) -> list[str]:
    """Where the module at *path* reaches into what is private to another package or module:
    a ``_module`` imported from outside the package that holds it, a ``_name`` imported from
    another module, or ``module._name`` read through an imported module."""
    name, is_package = _module_name(path)
    here = name if is_package else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> the envsnap module it is bound to
    for node in ast.walk(tree):
        pairs: list[tuple[str, str | None, str]] = []  # (module, name or None, bound as)
        if isinstance(node, ast.Import):
            pairs = [(a.name, None, a.asname or a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _from_module(node, here)
            pairs = [(module, a.name, a.asname or a.name) for a in node.names]
        for module, imported, bound in pairs:
            if not module.startswith("envsnap"):
                continue
            full = f"{module}.{imported}" if imported else module
            target = full if _existing(full) else module  # a submodule, else a name in module
            at = _private_part(target)
            if at is not None and not _inside(name, ".".join(target.split(".")[:at])):
                found.append(f"{name} imports {target}")
            if target != full and _private_part(full) == len(full.split(".")) - 1:
                found.append(f"{name} imports {full}")  # another module's private name
            if target == full:
                aliases[bound] = target
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if module is not None and private and module != name:
                found.append(f"{name} reads {module}.{node.attr}")
    return sorted(set(found))


def test_no_module_reaches_into_another_packages_private_parts() -> None:
    found = {r for path in sorted(PACKAGE.rglob("*.py")) for r in private_reaches(path)}
    assert found == set()


def test_the_private_check_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check sees each way of reaching in, on a planted copy of the package's layout."""
    root = tmp_path / "envsnap"
    for module in ("probes/__init__.py", "checks/rules/_common.py", "commands/check.py", "_io.py"):
        (root / module).parent.mkdir(parents=True, exist_ok=True)
        (root / module).write_text("")
    planted = root / "publish" / "_planted.py"
    planted.parent.mkdir()
    planted.write_text(
        "from envsnap.checks.rules._common import framework_versions\n"
        "from ..commands.check import _seconds\n"
        "from envsnap import probes\n"
        "from .. import _io\n"
        "from . import _planted\n"
        "stamp = probes._now()\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", root)
    assert private_reaches(planted) == [
        "envsnap.publish._planted imports envsnap.checks.rules._common",
        "envsnap.publish._planted imports envsnap.commands.check._seconds",
        "envsnap.publish._planted reads envsnap.probes._now",
    ]


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
