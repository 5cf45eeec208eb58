"""Issue #9, attack 8: anything that is not a finding exits 2 with one line, never a traceback
and never 1 (which a CI gate reads as "this machine is incompatible"). A damaged cache entry is
not even an error: it is ignored and rewritten."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_envsnap
from tests.fakes.sitepackages import SimpleIndex, make_wheel, write_dist_info
from tests.security.conftest import no_traceback, offline_env

DEEP = "a = " + "[" * 5000 + "]" * 5000 + "\n"


@pytest.mark.parametrize("verb", ["check", "diff", "rebuild"])
@pytest.mark.parametrize("name", ["pylock.toml", "hardware.toml"])
def test_deeply_nested_toml_exits_2_naming_the_file(
    capture_copy: Path, tmp_path: Path, verb: str, name: str
) -> None:
    (capture_copy / name).write_text(DEEP)
    args = {
        "check": ["check", str(capture_copy)],
        "diff": ["diff", str(capture_copy), str(capture_copy)],
        "rebuild": ["rebuild", str(capture_copy), "--no-build", "--context", str(tmp_path / "c")],
    }[verb]
    if verb == "rebuild" and name == "hardware.toml":
        (capture_copy / name).write_text(DEEP.replace("a = ", "b = "))
        args = ["check", str(capture_copy)]
    done = run_envsnap(*args, env=offline_env(tmp_path))
    no_traceback(done)
    assert name in done.stderr


@pytest.mark.parametrize("tool", ["envsnap = 3", 'envsnap = "x"', "envsnap = [1]"])
def test_a_package_tool_table_that_is_not_a_table_exits_2(
    capture_copy: Path, tmp_path: Path, tool: str
) -> None:
    from tests.fakes.sandbox import add_packages

    wheel = "demo-1.0-py3-none-any.whl"
    add_packages(
        capture_copy,
        '[[packages]]\nname = "demo"\nversion = "1.0"\n'
        f'wheels = [{{ name = "{wheel}", url = "https://x.example/{wheel}", '
        f'hashes = {{ sha256 = "{"a" * 64}" }} }}]\n\n[packages.tool]\n{tool}\n',
    )
    for args in (["check", str(capture_copy)], ["diff", str(capture_copy), str(capture_copy)]):
        done = run_envsnap(*args, env=offline_env(tmp_path))
        no_traceback(done)
        assert "tool.envsnap" in done.stderr


GARBAGE = ["", "{", "[]", "null", '{"key": 1, "facts": 2}', '{"data": 3, "check": "x"}', DEEP]


def _corrupt(cache: Path, text: str) -> int:
    n = 0
    for path in cache.rglob("*"):
        if path.is_file():
            path.write_text(text)
            n += 1
    return n


@pytest.mark.parametrize("garbage", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_in_the_check_probe_and_knowledge_caches_is_ignored_and_rewritten(
    bare_capture: Path, tmp_path: Path, venv: tuple[Path, Path], garbage: str
) -> None:
    python, _ = venv
    env = offline_env(tmp_path)
    args = ("check", str(bare_capture), "--python", str(python), "--json")
    first = run_envsnap(*args, env=env)
    assert first.returncode in (0, 1), first.stderr
    assert _corrupt(tmp_path / "cache", garbage) >= 3  # check, knowledge and --python entries
    again = run_envsnap(*args, env=env)
    assert again.returncode == first.returncode, again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert "Traceback" not in again.stderr
    # ...and rewritten: a third run finds good entries again
    assert not any(p.read_text() == garbage for p in (tmp_path / "cache").rglob("*.json"))


@pytest.mark.parametrize("garbage", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_in_the_index_cache_is_ignored(
    tmp_path: Path, venv: tuple[Path, Path], garbage: str
) -> None:
    python, site = venv
    make_wheel(tmp_path / "served", "demo", "1.0")
    write_dist_info(site, "demo", "1.0")
    index = SimpleIndex(tmp_path / "served")
    try:
        env = offline_env(tmp_path, PIP_INDEX_URL=index.url)
        args = ("capture", "--python", str(python), "-q", "-o")
        first = run_envsnap(*args, str(tmp_path / "a"), env=env)
        assert first.returncode == 0, first.stderr
        assert _corrupt(tmp_path / "cache" / "index", garbage) >= 1
        again = run_envsnap(*args, str(tmp_path / "b"), env=env)
    finally:
        index.close()
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    lock_a = (tmp_path / "a" / "pylock.toml").read_text().split("[tool.envsnap]")[0]
    lock_b = (tmp_path / "b" / "pylock.toml").read_text().split("[tool.envsnap]")[0]
    assert lock_a == lock_b and "sha256" in lock_a


@pytest.mark.parametrize(
    "facts",
    [
        {"site_dirs": [], "prefix": "/", "executable": "/x", "build": 5},
        {"site_dirs": [], "prefix": "/", "executable": "/x", "platform": ["linux"]},
        {"site_dirs": [], "prefix": "/", "executable": "/x", "version": {"a": 1}, "mac_ver": 7},
    ],
)
def test_a_python_printing_wrong_json_types_exits_2(
    bare_capture: Path, tmp_path: Path, facts: dict[str, object]
) -> None:
    fake = tmp_path / "fakepy"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(facts)}\nEOF\n")
    fake.chmod(0o755)
    for args in (["check", str(bare_capture)], ["capture", "-o", str(tmp_path / "out")]):
        done = run_envsnap(*args, "--python", str(fake), env=offline_env(tmp_path))
        no_traceback(done)
        assert str(fake) in done.stderr


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'})")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as fh:
        while True:
            fh.write(b"x" * 4096)
            fh.flush()


@pytest.mark.parametrize("case", ["file", "parent-file", "read-only", "full"])
def test_output_paths_that_cannot_be_written_exit_2_writing_nothing(
    tmp_path: Path, venv: tuple[Path, Path], case: str
) -> None:
    python, _ = venv
    with contextlib.ExitStack() as stack:
        if case == "file":
            out = tmp_path / "afile"
            out.write_text("mine\n")
        elif case == "parent-file":
            (tmp_path / "afile").write_text("mine\n")
            out = tmp_path / "afile" / "cap"
        elif case == "read-only":
            out = stack.enter_context(_tmpfs(tmp_path / "ro", "ro,size=64k")) / "cap"
        else:
            mnt = stack.enter_context(_tmpfs(tmp_path / "full", "size=64k"))
            out = mnt / "cap"
            out.mkdir()
            _fill(mnt)
        done = run_envsnap(
            "capture", "--offline", "--python", str(python), "-o", str(out),
            env=offline_env(tmp_path),
        )  # fmt: skip
        no_traceback(done)
        assert "cannot write the capture" in done.stderr
        if case == "full":  # no half-written file, no temp file left
            assert sorted(p.name for p in out.iterdir()) == []
    assert case not in ("file", "parent-file") or (tmp_path / "afile").read_text() == "mine\n"


def test_a_rebuild_context_on_a_file_exits_2_keeping_the_file(
    bare_capture: Path, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("mine\n")
    for ctx in ("afile", "afile/sub"):
        done = run_envsnap(
            "rebuild", str(bare_capture), "--no-build", "--context", str(tmp_path / ctx),
            env=offline_env(tmp_path),
        )  # fmt: skip
        no_traceback(done)
    assert (tmp_path / "afile").read_text() == "mine\n"
