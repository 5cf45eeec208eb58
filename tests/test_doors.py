"""The doors, read from envsnap's source (ast): files are read and parsed only in the in door, and
written, replaced or removed only in the out door, or in a module listed here with the reason
why what it touches is never a capture file nor an output the user named.

The in door is `envsnap.formats.capture` on `envsnap.formats._read` (the bounded primitives and
the registry of file kinds) and `envsnap._io.read_bytes_bounded`; the out door is
`envsnap._io.write_atomic` and `envsnap._captureset.write_set`. A new module that needs to read
or write a file calls them; adding it to a list below is a design decision, with its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import envsnap

PACKAGE = Path(envsnap.__file__).parent

IN_DOOR = frozenset({"_io.py", "formats/_read.py"})
OUT_DOOR = frozenset({"_io.py", "_captureset.py"})

# module (or unit/) -> why its reads are not of a capture file (they never get a capture's path)
READS_ALLOWED = {
    "_captureset.py": "the out door's folder descriptors; old files only through _io.read_at",
    "probes/": "this machine and the target interpreter (/proc, /sys, dist-info, conda-meta)",
    "index/": "pip's configuration, the index's answers and envsnap's hash cache",
    "knowledge/": "envsnap's own knowledge files and their cache",
    "numerics/_battery.py": "runs inside the target interpreter: /proc/self/maps, /proc/cpuinfo",
    "numerics/runner.py": "envsnap's own battery script and the JSON it prints",
    "_cache.py": "entries of envsnap's own JSON caches, each a miss unless its digest matches",
    "_jsonfast.py": "parses JSON text its callers read (json.loads only for json's own error)",
    "formats/condalock.py": "JSON scalars of the YAML subset, in text the in door read",
    "rebuild/toolwheels.py": "envsnap's own installed files, packed into the tool wheels",
    "rebuild/builddeps.py": "a project's pyproject.toml, as text the in door read (bounded)",
    "rebuild/venv.py": "the venv it builds in its own temporary folder (its scripts, its marker)",
    "rebuild/prefix.py": "the marker of the conda prefix it builds (a killed run's PID)",
    "rebuild/condalink.py": "its own manifest and the conda-meta records of the prefix it links",
    "_subprocess.py": "the tail of the log that `stream` wrote for a job (in repro's scratch)",
    "repro/boot.py": "runs inside the job's interpreter: the settings JSON on its command line",
    "repro/compare/": "the job's outputs in repro's scratch copies, each read with its own bounds",
    "repro/scratch.py": "the user's working directory, hashed and copied into repro's scratch",
}
# module (or unit/) -> why what it writes or removes is its own (a cache, a scratch folder)
WRITES_ALLOWED = {
    "rebuild/context.py": "inside a build context it made or emptied (a link refused first)",
    "rebuild/wheelhouse.py": "envsnap's download cache and the context's wheel folders",
    "rebuild/builddeps.py": "build requirements' wheels into the context's local layer folder",
    "rebuild/sources.py": "source trees inside a build context it writes (a trusted folder's)",
    "rebuild/venv.py": "the venv it builds in its own temporary folder, then renames into place",
    "rebuild/prefix.py": "the conda prefix it builds at PATH (a link refused first), or removes",
    "rebuild/condafiles.py": "verified conda files and their manifest, in a folder it was given",
    "rebuild/condalink.py": "the conda-meta records of the prefix it has just linked",
    "rebuild/condacontext.py": "envsnap's py-rattler wheel cache and the context's conda/ folder",
    "rebuild/toolwheels.py": "envsnap's tool-wheel cache and the context's tool/ folder",
    "rebuild/image.py": "removes the temporary build context it made",
    "_subprocess.py": "the log of a job that `stream` runs, at a path in its caller's scratch",
    "repro/flow.py": "removes the scratch folder it made (tempfile.mkdtemp)",
    "repro/runs.py": "removes a run's scratch copy once its outputs are compared",
    "repro/places.py": "the log of a run in an image, in that run's scratch folder",
    "repro/scratch.py": "the working directory's copies, inside repro's scratch folder",
    "repro/compare/": "unpacked .npz members and converted checkpoints, in repro's scratch",
}

_READ_MODULES = {"tomllib", "tomli", "json", "yaml", "pickle", "marshal", "mmap"}
_WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"}
_WRITE_CALLS = {
    ("os", "replace"), ("os", "rename"), ("os", "renames"), ("os", "link"), ("os", "symlink"),
    ("os", "unlink"), ("os", "remove"), ("os", "truncate"), ("os", "rmdir"),
    ("shutil", "copy"), ("shutil", "copy2"), ("shutil", "copyfile"), ("shutil", "copytree"),
    ("shutil", "copyfileobj"), ("shutil", "move"), ("shutil", "rmtree"),
}  # fmt: skip
_WRITE_METHODS = {"write_text", "write_bytes", "symlink_to", "hardlink_to", "unlink", "rename"}


def _name(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain, the name for a name, else ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _mode(call: ast.Call, position: int) -> str:
    """The literal mode argument of an open-like call (``"r"`` when none is given)."""
    mode: ast.expr | None = call.args[position] if len(call.args) > position else None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode = kw.value
    if mode is None:
        return "r"
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "?"


def _flags(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)} | {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _path_open(call: ast.Call) -> bool:
    """`Path.open([mode])`: no argument, or a literal mode first (not another object's open)."""
    if not call.args:
        return True
    first = call.args[0]
    return isinstance(first, ast.Constant) and isinstance(first.value, str)


def classify(call: ast.Call) -> tuple[str, str] | None:
    """("read" | "write", what) for a call that reads or writes a file, else None."""
    func = call.func
    dotted = _name(func)
    head, _, last = dotted.rpartition(".")
    if dotted in ("open", "io.open"):
        mode = _mode(call, 1)
        return ("write" if set(mode) & set("wax+?") else "read", f"{dotted}(mode={mode!r})")
    if dotted == "os.open":
        flags = _flags(call.args[1]) if len(call.args) > 1 else set()
        if "O_DIRECTORY" in flags:
            return None  # a folder's descriptor: what is read or written through it counts
        return ("write" if flags & _WRITE_FLAGS else "read", dotted)
    if (head, last) in _WRITE_CALLS:
        return "write", dotted
    if head.split(".")[0] in _READ_MODULES and ("load" in last or last in ("parse", "mmap")):
        return "read", dotted
    if not isinstance(func, ast.Attribute):
        return None
    method = func.attr
    if method in ("read_text", "read_bytes"):
        return "read", f".{method}()"
    if method == "open" and _path_open(call):
        mode = _mode(call, 0)
        return ("write" if set(mode) & set("wax+?") else "read", f".open(mode={mode!r})")
    if method in _WRITE_METHODS:
        return "write", f".{method}()"
    # Path.replace(target): one argument; str.replace and bytes.replace take two
    if method == "replace" and len(call.args) == 1 and not call.keywords:
        return "write", ".replace()"
    if dotted in ("zipfile.ZipFile", "tarfile.open") and set(_mode(call, 1)) & set("wax?"):
        return "write", dotted
    return None


def calls(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, kind, what) of every file read or write in the module at *path*."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and (found := classify(node)) is not None:
            yield node.lineno, *found


def _allowed(rel: str, table: dict[str, str], door: frozenset[str]) -> bool:
    return rel in door or any(rel == k or (k.endswith("/") and rel.startswith(k)) for k in table)


def _violations(kind: str, table: dict[str, str], door: frozenset[str]) -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if _allowed(rel, table, door):
            continue
        out += [f"envsnap/{rel}:{line}: {what}" for line, k, what in calls(path) if k == kind]
    return out


def test_only_the_in_door_reads_files() -> None:
    bad = _violations("read", READS_ALLOWED, IN_DOOR)
    assert bad == [], (
        "read files through envsnap.formats.capture (load, read, file_bytes, json_value) or "
        "envsnap._io.read_bytes_bounded:\n" + "\n".join(bad)
    )


def test_only_the_out_door_writes_files() -> None:
    bad = _violations("write", WRITES_ALLOWED, OUT_DOOR)
    assert bad == [], (
        "write files through envsnap._io.write_atomic (or _captureset.write_set):\n"
        + "\n".join(bad)
    )


def test_every_allowed_module_exists_and_still_needs_its_entry() -> None:
    """An entry whose module no longer reads (or writes) is removed, so the lists stay exact."""
    for table, kind in ((READS_ALLOWED, "read"), (WRITES_ALLOWED, "write")):
        for key in table:
            paths = sorted((PACKAGE / key).rglob("*.py")) if key.endswith("/") else [PACKAGE / key]
            assert paths and all(p.is_file() for p in paths), key
            assert any(k == kind for p in paths for _, k, _ in calls(p)), f"{key}: no {kind} left"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("open(p)", ("read", "open(mode='r')")),
        ("open(p, 'wb')", ("write", "open(mode='wb')")),
        ("Path(p).read_text()", ("read", ".read_text()")),
        ("tomllib.loads(t)", ("read", "tomllib.loads")),
        ("yaml.safe_load(t)", ("read", "yaml.safe_load")),
        ("json.loads(t)", ("read", "json.loads")),
        ("json.dumps(t)", None),
        ("os.open(p, os.O_RDONLY)", ("read", "os.open")),
        ("os.open(p, os.O_WRONLY | os.O_CREAT)", ("write", "os.open")),
        ("tmp.replace(target)", ("write", ".replace()")),
        ("text.replace('a', 'b')", None),
        ("when.replace(tzinfo=utc)", None),
        ("p.write_text('x')", ("write", ".write_text()")),
        ("shutil.copyfile(a, b)", ("write", "shutil.copyfile")),
        ("p.open('a')", ("write", ".open(mode='a')")),
        ("zipfile.ZipFile(p, 'w')", ("write", "zipfile.ZipFile")),
        ("os.open(p, os.O_RDONLY | os.O_DIRECTORY)", None),
        ("tables.open(path, array=True)", None),
    ],
)
def test_the_rule_sees_reads_and_writes(source: str, expected: tuple[str, str] | None) -> None:
    (node,) = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)][:1]
    assert classify(node) == expected
