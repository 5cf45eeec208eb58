"""One front door: every command's `run` calls a typed function of `envsnap.api`, which returns a
record, and a command imports nothing else of envsnap but the leaves and the renderers of those
records. What the CLI can do, the Python API can do: numerics at capture, a numerics time limit
at check, the package-folder guard, a typed rebuild."""

from __future__ import annotations

import ast
import sys
import typing
from pathlib import Path

import pytest

import envsnap
from envsnap import api, cli
from envsnap._record import Record
from envsnap.errors import InputError
from envsnap.formats import numerics as numerics_toml

PACKAGE = Path(envsnap.__file__).parent
COMMANDS = [PACKAGE / "commands" / f"{verb}.py" for verb in cli.COMMANDS]
LEAVES = ("envsnap._", "envsnap.errors", "envsnap.commands.")
# What a command may import besides the API: the text renderings of the API's records, and the
# error whose tail `repro` prints.
RENDERERS = {
    "envsnap.checks.output",  # a check's or diff's findings as a table or JSON
    "envsnap.fleet.table",  # the fleet table
    "envsnap.numerics.attribution",  # the names of the numerics facts repro shows
    "envsnap.rebuild.result",  # rebuild's records, each kind printed its own way
    "envsnap.repro",  # RunFailed, whose tail is printed
    "envsnap.repro.result",  # how repro prints a number
}


def _imports(tree: ast.AST, module: str) -> set[str]:
    """The envsnap modules (and ``module.name`` for from-imports) that *tree* imports."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".")[: len(module.split(".")) - node.level]
            name = ".".join([*base, node.module] if node.module else base) if node.level else ""
            name = name or (node.module or "")
            found |= {f"{name}.{a.name}" if name == "envsnap" else name for a in node.names}
    return {n for n in found if n == "envsnap" or n.startswith("envsnap.")}


def _run(path: Path) -> ast.FunctionDef:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    (run,) = (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    return run


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: p.stem)
def test_each_commands_run_calls_the_api(path: Path) -> None:
    run = _run(path)
    assert "envsnap.api" in _imports(run, f"envsnap.commands.{path.stem}"), path.stem
    names = {  # `from envsnap.api import check` or `from envsnap import api`
        a.asname or a.name
        for n in ast.walk(run)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
        if (n.module or "").endswith("api") or a.name == "api"
    }
    called = {
        n.func.id if isinstance(n.func, ast.Name) else getattr(n.func.value, "id", "")
        for n in ast.walk(run)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name | ast.Attribute)
    }
    assert names & called, f"{path.stem}: run imports the API but calls none of it"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: p.stem)
def test_a_command_imports_only_the_api_leaves_and_renderers(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = _imports(tree, f"envsnap.commands.{path.stem}")
    others = {
        n for n in found if not n.startswith(LEAVES) and n != "envsnap.api" and n not in RENDERERS
    }
    assert others == set(), f"{path.stem} goes around the API"


def test_the_import_check_can_fail(tmp_path: Path) -> None:
    planted = "def run(args):\n    from ..rebuild import rebuild\n    return rebuild(args.d)\n"
    tree = ast.parse(planted)
    assert _imports(tree, "envsnap.commands.planted") == {"envsnap.rebuild"}
    assert "envsnap.api" not in _imports(tree.body[0], "envsnap.commands.planted")


def _hints(function: object) -> dict[str, object]:
    """The resolved annotations of an API function (its type-only imports imported here)."""
    tree = ast.parse((PACKAGE / "api.py").read_text(encoding="utf-8"))
    scope: dict[str, object] = dict(vars(api))
    (block,) = (
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    for node in block.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            module = __import__(f"envsnap.{node.module}", fromlist=["_"])
            scope |= {a.asname or a.name: getattr(module, a.name) for a in node.names}
    scope |= {"Callable": typing.Callable, "Iterable": typing.Iterable, "Sequence": typing.Sequence}
    scope["Path"] = Path
    scope["Progress"] = typing.Callable[[str], None] | None
    return typing.get_type_hints(function, globalns=scope)


FUNCTIONS = [n for n in api.__all__ if callable(getattr(api, n)) and n.islower()]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_api_functions_are_typed_and_return_records(name: str) -> None:
    function = getattr(api, name)
    assert all("Any" not in str(a) for a in function.__annotations__.values()), name
    returned = _hints(function)["return"]
    kinds = typing.get_args(returned) or (returned,)  # a union: one record per kind of result
    assert all(isinstance(k, type) and issubclass(k, Record) for k in kinds), (name, returned)


def test_every_verb_has_its_api_function() -> None:
    assert {p.stem for p in COMMANDS} <= set(FUNCTIONS)


# --- behaviour through the Python API: real captures, the real battery in a subprocess ----------


def test_capture_runs_the_numerics_battery(tmp_path: Path) -> None:
    done = api.capture(tmp_path / "cap", python=sys.executable, offline=True, numerics=True)
    assert done.numerics is not None and done.numerics.complete and done.numerics.probes
    written = numerics_toml.load(tmp_path / "cap" / "numerics.toml")
    assert done.numerics_digest == numerics_toml.digest(written)
    assert str(tmp_path / "cap" / "numerics.toml") in done.files
    assert done.output == str(tmp_path / "cap")


def test_capture_without_numerics_writes_no_numerics_file(tmp_path: Path) -> None:
    done = api.capture(tmp_path / "cap", offline=True)
    assert done.numerics is None and done.numerics_digest == ""
    assert not (tmp_path / "cap" / "numerics.toml").exists()
    assert done.files and all(Path(f).is_file() for f in done.files)


def test_capture_numerics_timeout_is_the_batterys_limit(tmp_path: Path) -> None:
    done = api.capture(tmp_path / "cap", offline=True, numerics=True, numerics_timeout=0.01)
    assert done.numerics is not None and not done.numerics.complete
    assert "time limit of 0.01 s" in done.numerics.reason
    assert not numerics_toml.load(tmp_path / "cap" / "numerics.toml").complete


def test_check_numerics_timeout_is_the_batterys_limit(tmp_path: Path) -> None:
    api.capture(tmp_path / "cap", offline=True, numerics=True)
    report = api.check(tmp_path / "cap", numerics=True, numerics_timeout=0.01)
    (found,) = (f for f in report.findings if f.code == "numerics.incomplete")
    assert "time limit of 0.01 s" in found.message


@pytest.mark.parametrize("timeout", [0.0, -1.0, 1e9])
def test_a_bad_numerics_timeout_is_refused_before_any_work(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(InputError, match="--numerics-timeout: expected a positive number"):
        api.capture(tmp_path / "cap", offline=True, numerics=True, numerics_timeout=timeout)
    assert not (tmp_path / "cap").exists()
    with pytest.raises(InputError, match="--numerics-timeout: expected a positive number"):
        api.check(tmp_path / "missing", numerics=True, numerics_timeout=timeout)


def test_capture_refuses_a_python_package_folder(tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    with pytest.raises(InputError, match=r"is a Python package \(it holds __init__\.py\)"):
        api.capture(package, offline=True)
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py"]
    assert api.capture(None, offline=True).files == ()  # nothing written, nothing guarded


def test_capture_refuses_a_missing_project_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--project folder not found"):
        api.capture(tmp_path / "cap", offline=True, project=tmp_path / "no")
    assert not (tmp_path / "cap").exists()


def test_rebuild_returns_its_record(tmp_path: Path) -> None:
    from envsnap.rebuild import ContextRendered

    api.capture(tmp_path / "cap", offline=True)
    result = api.rebuild(tmp_path / "cap", build=False, allow_missing=True)
    assert isinstance(result, ContextRendered) and result.context is None
    assert result.dockerfile.startswith("# Generated by envsnap rebuild")
    with pytest.raises(InputError, match="--python: only meaningful with --venv"):
        api.rebuild(tmp_path / "cap", python=sys.executable)
    with pytest.raises(InputError, match="--no-cache: only meaningful when building"):
        api.rebuild(tmp_path / "cap", build=False, no_cache=True)


def test_check_node_saves_the_report_fleet_reads(tmp_path: Path) -> None:
    api.capture(tmp_path / "cap", offline=True)
    saved = api.check_node(tmp_path / "cap", tmp_path / "reports", node="rack/7")
    assert Path(saved.path).parent == tmp_path / "reports" and saved.clashes_with == "rack_7"
    fleet = api.fleet(tmp_path / "reports", expect=1)
    assert [n.node for n in fleet.nodes] == ["rack/7"]
    plain = api.check_node(tmp_path / "cap", tmp_path / "reports", node="node-1")
    assert Path(plain.path).name == "node-1.json" and plain.clashes_with == ""
