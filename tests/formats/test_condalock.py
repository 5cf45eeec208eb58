"""conda-lock.yml: our writer, our PyYAML-free reader, PyYAML, and conda-lock's own parser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envsnap.errors import InputError
from envsnap.formats import condalock
from envsnap.model import Environment, OSInfo, PythonInfo
from envsnap.probes import conda
from tests.fakes.venvs import make_venv

DATA = Path(__file__).resolve().parent.parent / "data"
ROOT = Path(__file__).resolve().parent.parent.parent


def _environment(tmp_path: Path, *, with_conda: bool = True) -> Environment:
    prefix = tmp_path / "prefix"
    shutil.copytree(
        DATA / "conda-meta", prefix / "conda-meta", ignore=shutil.ignore_patterns("*.md")
    )
    return Environment(
        python=PythonInfo(implementation="cpython", version="3.11.9"),
        os=OSInfo(system="Linux", machine="x86_64"),
        conda=conda.probe(str(prefix)) if with_conda else None,
        created_at="2026-11-25T20:00:00Z",
        created_by="envsnap 0.1.0",
    )


def test_render_is_deterministic_and_versioned(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    text = condalock.render(env)
    assert text == condalock.render(env)
    lines = text.splitlines()
    assert lines[0] == condalock.HEADER
    assert lines[1] == "version: 1"
    assert text.endswith("\n")
    assert text.count("2026-11-25T20:00:00Z") == 1


def test_render_is_yaml_of_the_v1_document(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    data = yaml.safe_load(condalock.render(env))
    assert data == condalock.to_dict(env)
    assert data["metadata"]["platforms"] == ["linux-64"]
    assert data["metadata"]["channels"] == [{"url": "conda-forge", "used_env_vars": []}]
    names = [p["name"] for p in data["package"]]
    assert names == sorted(names)
    numpy = next(p for p in data["package"] if p["name"] == "numpy")
    assert numpy["manager"] == "conda"
    assert numpy["hash"] == {
        "md5": "a502d7aad449a1206efb366d6a12c52d",
        "sha256": "3f4365e11b28e244c95ba8579942b0802761ba7bb31c026f50d1a9ea9c728149",
    }
    assert numpy["dependencies"]["python_abi"] == "3.11.* *_cp311"
    pip = next(p for p in data["package"] if p["name"] == "pip")
    # a noarch package is locked for the environment's platform; its URL stays noarch
    assert pip["platform"] == "linux-64"
    assert "/noarch/" in pip["url"]


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    path = condalock.write(tmp_path / "out" / "conda-lock.yml", env)
    assert path.read_text(encoding="utf-8") == condalock.render(env)
    assert condalock.load(path) == env.conda


def test_load_needs_no_pyyaml_for_our_files(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    path = condalock.write(tmp_path / "conda-lock.yml", env)
    code = (
        "import sys, json; sys.modules['yaml'] = None\n"
        "from envsnap.formats import condalock\n"
        f"print(json.dumps(condalock.load({str(path)!r}).to_dict(), sort_keys=True))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert env.conda is not None
    assert yaml.safe_load(done.stdout) == env.conda.to_dict()


def test_load_a_file_conda_lock_wrote(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    loaded = condalock.load(DATA / "conda-lock" / "conda-lock-4.0.3.yml")
    assert env.conda is not None
    assert loaded.platform == "linux-64"
    assert loaded.channels == ("conda-forge",)
    assert loaded.packages == env.conda.packages


def test_render_without_conda_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a conda environment"):
        condalock.render(_environment(tmp_path, with_conda=False))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 2\nmetadata: {}\npackage: []\n", "unsupported conda-lock version 2"),
        ("- just\n- a list\n", "expected a mapping"),
        ("version: 1\n", "needs 'metadata' and 'package'"),
        ("version: 1\nmetadata: [unclosed\n", "invalid YAML"),
        (
            "version: 1\nmetadata: {platforms: [linux-64]}\npackage:\n- {manager: conda}\n",
            "malformed package entry 0",
        ),
    ],
)
def test_bad_input(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "conda-lock.yml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        condalock.load(path)
    assert str(err.value).startswith(str(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        condalock.load(tmp_path / "nope.yml")


def _install_conda_lock(venv: Path) -> subprocess.CompletedProcess[str]:
    python = venv / "bin" / "python"
    try:
        import uv  # noqa: F401 - the dev venv ships uv: ~10 s instead of pip's minutes
    except ImportError:
        make_venv(venv, pip=True)
        install = [str(python), "-m", "pip", "install", "-q", "conda-lock"]
    else:
        subprocess.run([sys.executable, "-m", "uv", "venv", "-q", str(venv)], check=True)
        install = [sys.executable, "-m", "uv", "pip", "install", "-q", "--python", str(python)]
        install.append("conda-lock")
    return subprocess.run(install, capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="session")
def conda_lock_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conda-lock installed into a scratch venv (never into the project's own)."""
    venv = tmp_path_factory.mktemp("conda-lock-venv") / "venv"
    done = _install_conda_lock(venv)
    if done.returncode != 0:
        pytest.skip(f"conda-lock is not installable here: {done.stderr.strip()[-300:]}")
    return venv / "bin" / "python"


@pytest.mark.slow
@pytest.mark.network
def test_conda_lock_parses_our_file(tmp_path: Path, conda_lock_python: Path) -> None:
    path = condalock.write(tmp_path / "conda-lock.yml", _environment(tmp_path))
    code = (
        "import pathlib, sys\n"
        "from conda_lock.lockfile import parse_conda_lock_file\n"
        "lock = parse_conda_lock_file(pathlib.Path(sys.argv[1]))\n"
        "print(lock.metadata.platforms, [c.url for c in lock.metadata.channels])\n"
        "for p in sorted(lock.package, key=lambda p: p.name):\n"
        "    print(p.manager, p.name, p.version, p.platform, p.hash.md5, sorted(p.categories))\n"
    )
    done = subprocess.run(
        [str(conda_lock_python), "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "['linux-64'] ['conda-forge']"
    assert lines[1:] == [
        "conda liblapack 3.9.0 linux-64 fd540578678aefe025705f4b58b36b2e ['main']",
        "conda libopenblas 0.3.27 linux-64 ae05ece66d3924ac3d48b4aa3fa96cec ['main']",
        "conda numpy 1.26.4 linux-64 a502d7aad449a1206efb366d6a12c52d ['main']",
        "conda pip 24.2 linux-64 6c78fbb8ddfd64bcb55b5cbafd2d2c43 ['main']",
        "conda python 3.11.9 linux-64 ac68acfa8b558ed406c75e98d3428d7b ['main']",
    ]


def test_capture_write_keeps_a_conda_lock_that_differs_only_in_time(tmp_path: Path) -> None:
    from envsnap.formats.capture import write
    from envsnap.model import Snapshot, replace

    env = _environment(tmp_path)
    out = tmp_path / "out"
    write(Snapshot(environment=env), out)
    lock = out / "conda-lock.yml"
    first = (lock.stat().st_ino, lock.read_text())
    write(Snapshot(environment=replace(env, created_at="2027-01-01T00:00:00Z")), out)
    assert (lock.stat().st_ino, lock.read_text()) == first
    changed = replace(env, conda=replace(env.conda, channels=("conda-forge", "bioconda")))
    write(Snapshot(environment=replace(changed, created_at="2027-01-01T00:00:00Z")), out)
    assert "2027-01-01T00:00:00Z" in lock.read_text()
