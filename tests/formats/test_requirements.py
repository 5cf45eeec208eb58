"""requirements.txt: pip-tools' --hash format, with what hash mode cannot install as comments."""

from __future__ import annotations

from pathlib import Path

from envsnap import model
from envsnap.formats import requirements
from tests.fakes.lockenv import H, environment


def test_whole_file() -> None:
    c40 = "c" * 40
    assert requirements.render(environment()) == requirements.HEADER + (
        "--find-links file:///opt/wheels\n"
        "archive @ https://example.org/archive-1.0.tar.gz \\\n"
        f"    --hash=sha256:{H}\n"
        "numpy==2.1.0 \\\n"
        f"    --hash=sha256:{H} \\\n"
        f"    --hash=sha256:{H.replace('a', 'b')} \\\n"
        f"    --hash=sha256:{H.replace('0', '1')}\n"
        "odd-version @ https://example.org/odd_version-1.0-1.tar.gz \\\n"
        f"    --hash=sha256:{H}\n"
        "torch==2.13.0+cpu \\\n"
        f"    --hash=sha256:{H.replace('f', 'e')}\n"
        "\n# not installable with --require-hashes (install them from pylock.toml):\n"
        f"# from-git @ git+https://github.com/o/r.git@{c40}"
        "  (VCS: not hashable; installed from pylock.toml)\n"
        "# -e file:///home/me/src/mine  (mine 0.1, editable: not hashable)\n"
        "# no-hash @ https://example.org/no_hash-1.zip  (direct URL with no recorded sha256)\n"
        "# offline-only==3.2  (no known hash: offline or not found on any configured index)\n"
        "# spaced @ file:///tmp/a%20b/c  (local directory: not hashable)\n"
    )


def test_remote_indexes_other_than_pypi_are_named() -> None:
    env = environment()
    numpy = env.package("numpy")
    assert numpy is not None
    moved = model.replace(numpy, index="https://mirror.example/simple")
    env = model.replace(
        env, packages=tuple(moved if p.name == "numpy" else p for p in env.packages)
    )
    lines = requirements.render(env).splitlines()
    assert lines[2:4] == [
        "--extra-index-url https://mirror.example/simple",
        "--find-links file:///opt/wheels",
    ]


def test_write_is_atomic_and_deterministic(tmp_path: Path) -> None:
    env = environment()
    path = requirements.write(tmp_path / "out" / "requirements.txt", env)
    assert path.read_text(encoding="utf-8") == requirements.render(env)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["requirements.txt"]
