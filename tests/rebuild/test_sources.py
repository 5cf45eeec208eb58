"""Local source trees copied into the build context (`envsnap.rebuild.sources.copy_project`)."""

from __future__ import annotations

from pathlib import Path

from envsnap.rebuild.sources import copy_project
from tests.fakes.projects import git, make_project


def _files(tree: Path) -> list[str]:
    return sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if not p.is_dir())


def test_a_folder_in_a_work_tree_is_copied_as_git_lists_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    src = make_project(repo / "proj", "proj", "0.1")
    (repo / ".gitignore").write_text("*.log\n")
    (src / "run.log").write_text("ignored\n")
    (src / "new.py").write_text("untracked, kept\n")
    git(repo, "init", "-q")
    git(repo, "add", ".gitignore", "proj/pyproject.toml", "proj/backend.py", "proj/VERSION")
    git(repo, "commit", "-q", "-m", "x")
    assert copy_project(src, tmp_path / "out")[0] == 4
    assert _files(tmp_path / "out") == ["VERSION", "backend.py", "new.py", "pyproject.toml"]


def test_a_folder_its_enclosing_work_tree_ignores_is_walked(tmp_path: Path) -> None:
    """git lists nothing in an ignored folder: the project was copied empty (and the build
    failed far from the cause). It is walked like a folder outside any work tree."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("vendor/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "x")
    src = make_project(repo / "vendor" / "proj", "proj", "0.1")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "backend.cpython-311.pyc").write_text("junk\n")
    (src / "pkg").mkdir()
    (src / "pkg" / "mod.py").write_text("x = 1\n")
    assert copy_project(src, tmp_path / "out") == (
        4,
        sum(
            (src / f).stat().st_size
            for f in ("VERSION", "backend.py", "pkg/mod.py", "pyproject.toml")
        ),
    )
    assert _files(tmp_path / "out") == ["VERSION", "backend.py", "pkg/mod.py", "pyproject.toml"]
