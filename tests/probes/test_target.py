"""The target interpreter: in-process, another real interpreter, real venvs, bad --python."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from packaging import tags

from envsnap.errors import InputError
from envsnap.probes import target
from tests.fakes.venvs import make_venv


def test_running_interpreter_in_process() -> None:
    tgt = target.probe(None)
    assert tgt.executable == sys.executable
    assert tgt.prefix == sys.prefix
    assert tgt.base_prefix == sys.base_prefix
    assert str(Path(sysconfig.get_paths()["purelib"])) in tgt.site_dirs
    stdlib = str(Path(sysconfig.get_paths()["stdlib"]))
    assert stdlib not in tgt.site_dirs
    assert "" not in tgt.site_dirs
    info = tgt.python
    assert info.version == platform.python_version()
    assert info.implementation == sys.implementation.name
    assert info.soabi == (sysconfig.get_config_var("SOABI") or "")
    assert info.compiler == platform.python_compiler()
    if sys.implementation.name == "cpython":
        assert info.abi.startswith(f"cp{sys.version_info[0]}{sys.version_info[1]}")
    # The ordered platform tags are exactly what packaging computes for this interpreter.
    assert list(info.platform_tags) == list(tags.platform_tags())


def test_same_interpreter_by_path_gives_the_same_answer() -> None:
    here = target.probe(None)
    there = target.probe(sys.executable)
    assert there.python == here.python
    assert there.site_dirs == here.site_dirs
    assert there.prefix == here.prefix


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages")) or sorted(
        venv.glob("Lib/site-packages")
    )
    assert found, venv
    return found[0]


def test_real_venv_with_pth_dirs_and_conda_meta(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = make_venv(venv)
    site_packages = _site_packages(venv)
    extra = tmp_path / "src-layout"
    extra.mkdir()
    (site_packages / "_editable_extra.pth").write_text(
        f"# a comment\nimport os\n{extra}\n{tmp_path / 'missing'}\n", encoding="utf-8"
    )
    tgt = target.probe(str(python))
    assert Path(tgt.prefix) == venv
    assert Path(tgt.base_prefix) == Path(sys.base_prefix)
    assert [Path(p) for p in tgt.site_dirs] == [site_packages, extra]
    assert tgt.is_conda is False
    assert tgt.python.version == platform.python_version()
    (venv / "conda-meta").mkdir()
    assert target.probe(str(python)).is_conda is True


def _other_pythons() -> list[str]:
    """Interpreters of other minor versions on PATH (pyenv, deadsnakes, ...)."""
    names = [f"python3.{m}" for m in range(7, 15) if m != sys.version_info[1]]
    return [p for p in (shutil.which(n) for n in names) if p]


@pytest.mark.skipif(not _other_pythons(), reason="no Python of another minor version on PATH")
def test_interpreters_of_other_versions() -> None:
    checked = 0
    for python in _other_pythons()[:3]:  # shims are slow; three versions make the point
        done = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:  # e.g. a pyenv shim for a version that is not installed
            continue
        checked += 1
        tgt = target.probe(python)
        assert tgt.python.version == done.stdout.strip()
        major, minor = tgt.python.version.split(".")[:2]
        assert tgt.python.abi.startswith(f"cp{major}{minor}")
        assert tgt.python.platform_tags[0].startswith(("linux_", "macosx_", "win"))
    if checked == 0:
        pytest.skip("the Pythons of other minor versions on PATH do not start (broken shims)")


def _script(path: Path, text: str, mode: int = 0o755) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "nope", "does not exist"),
        (lambda d: d, "is a directory"),
        (lambda d: _script(d / "plain.txt", "print(1)\n", 0o644), "not executable"),
        (lambda d: _script(d / "shell", "#!/bin/sh\necho hello\n"), "not a Python interpreter"),
        (lambda d: _script(d / "fails", "#!/bin/sh\necho boom >&2\nexit 3\n"), "boom"),
        (lambda d: _script(d / "json", "#!/bin/sh\necho '{\"site_dirs\": 1}'\n"), "not a Python"),
        (lambda d: _script(d / "binary", "\x7fELF garbage"), "could not be run"),
    ],
    ids=["missing", "directory", "not-executable", "not-python", "fails", "bad-json", "bad-binary"],
)
def test_bad_python_is_one_input_error_naming_it(tmp_path: Path, make, words: str) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError) as info:
        target.probe(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert words in message
    assert "\n" not in message


def test_python_that_hangs_times_out(tmp_path: Path) -> None:
    slow = _script(tmp_path / "slow", "#!/bin/sh\nexec sleep 30\n")
    with pytest.raises(InputError, match=r"no answer within 0\.5 s"):
        target.probe(str(slow), timeout=0.5)


def test_cli_missing_python_exits_2_with_one_line(cli, tmp_path: Path) -> None:
    result = cli("capture", "--python", "/nope", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "envsnap: error: /nope: --python interpreter does not exist\n"


# --- pure functions -------------------------------------------------------------------------


def test_manylinux_tags_for_aarch64_stop_at_2_17() -> None:
    got = target.platform_tags("linux-aarch64", glibc=(2, 28))
    assert got[0] == "linux_aarch64"
    assert got[1] == "manylinux_2_28_aarch64"
    assert got[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert "manylinux2010_aarch64" not in got


def test_x86_tags_include_legacy_aliases_in_order() -> None:
    got = target.platform_tags("linux-x86_64", glibc=(2, 17))
    assert got == [
        "linux_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
        *[f"manylinux_2_{m}_x86_64" for m in range(16, 12, -1)],
        "manylinux_2_12_x86_64",
        "manylinux2010_x86_64",
        *[f"manylinux_2_{m}_x86_64" for m in range(11, 5, -1)],
        "manylinux_2_5_x86_64",
        "manylinux1_x86_64",
    ]


def test_musl_and_32bit_and_other_platforms() -> None:
    assert target.platform_tags("linux-x86_64", musl=(1, 2)) == [
        "linux_x86_64",
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
    ]
    assert target.platform_tags("linux-x86_64", glibc=(2, 5), is_64bit=False) == [
        "linux_i686",
        "manylinux_2_5_i686",
        "manylinux1_i686",
    ]
    assert target.platform_tags("win-amd64") == ["win_amd64"]
    mac = target.platform_tags("macosx-11.0-arm64", mac_ver="14.5", machine="arm64")
    assert mac[0] == "macosx_14_0_arm64"
    assert "macosx_11_0_universal2" in mac


def test_python_info_from_recorded_facts_of_a_free_threaded_build() -> None:
    facts = {
        "implementation": "cpython",
        "version": "3.13.1",
        "build": ["main", "Dec  4 2024 08:54:43"],
        "compiler": "GCC 12.2.0",
        "soabi": "cpython-313t-x86_64-linux-gnu",
        "ext_suffix": ".cpython-313t-x86_64-linux-gnu.so",
        "gil_disabled": True,
        "platform": "linux-x86_64",
        "is_64bit": True,
        "glibc": "glibc 2.36",
    }
    info = target.python_info(facts)
    assert info.abi == "cp313t"
    assert info.gil_disabled is True
    assert info.build == "main Dec 4 2024 08:54:43"
    assert info.platform_tags[:2] == ("linux_x86_64", "manylinux_2_36_x86_64")


@pytest.mark.parametrize(
    ("soabi", "ext_suffix", "abi"),
    [
        ("cpython-311-x86_64-linux-gnu", "", "cp311"),
        ("cpython-311d-x86_64-linux-gnu", "", "cp311d"),
        ("pypy310-pp73-x86_64-linux-gnu", "", "pypy310_pp73"),
        ("", ".cp312-win_amd64.pyd", "cp312"),
        ("", ".pyd", ""),
    ],
)
def test_abi_tag(soabi: str, ext_suffix: str, abi: str) -> None:
    facts = {"soabi": soabi, "ext_suffix": ext_suffix, "platform": "linux-x86_64"}
    assert target.python_info(facts).abi == abi
