"""Python, OS and package rules."""

from __future__ import annotations

from envsnap import model
from envsnap.checks.rules import conda as conda_rules
from envsnap.checks.rules import os as os_rules
from envsnap.checks.rules import packages, python
from envsnap.model import CondaEnv, CondaPackage, Package, PythonInfo
from tests.fakes.snapshots import codes, environment, snapshot


def _python(version: str, impl: str = "CPython", **kw: object) -> object:
    return snapshot(env={"python": PythonInfo(impl, version, **kw)})  # type: ignore[arg-type]


def test_python_version_and_implementation() -> None:
    rec = _python("3.11.7")
    assert python.python_version(rec, rec) == []  # type: ignore[arg-type]
    assert codes(python.python_version(rec, _python("3.12.1"))) == {("error", "python.version")}  # type: ignore[arg-type]
    assert codes(python.python_version(rec, _python("3.11.9"))) == {("warning", "python.patch")}  # type: ignore[arg-type]
    assert codes(python.python_version(rec, _python("3.11.7", "PyPy"))) == {  # type: ignore[arg-type]
        ("error", "python.implementation")
    }


def test_free_threaded_build_is_another_abi() -> None:
    rec = _python("3.13.1")
    cur = _python("3.13.1", gil_disabled=True)
    (finding,) = python.python_abi(rec, cur)  # type: ignore[arg-type]
    assert (finding.severity, finding.code) == ("error", "python.abi")


def test_missing_changed_rebuilt_and_extra_packages() -> None:
    recorded = snapshot()
    current_pkgs = (
        Package("numpy", "2.0.0"),  # another version
        Package("torch", "2.2.0", wheel_tags=("cp311-cp311-manylinux_2_28_x86_64",)),  # rebuild
        Package("pandas", "2.2.2"),  # extra
    )  # nvidia-cudnn-cu12 missing
    current = snapshot(env={"packages": current_pkgs})
    found = packages.pip_packages(recorded, current)
    assert codes(found) == {
        ("error", "package.version"),
        ("error", "package.missing"),
        ("warning", "package.build"),
        ("info", "package.extra"),
    }
    version = next(f for f in found if f.code == "package.version")
    assert (version.expected, version.actual, version.remedy) == (
        "1.26.4",
        "2.0.0",
        "pip install numpy==1.26.4",
    )


def test_names_are_compared_normalized() -> None:
    recorded = snapshot(env={"packages": (Package("Foo_Bar", "1.0"),)})
    current = snapshot(env={"packages": (Package("foo-bar", "1.0"),)})
    assert packages.pip_packages(recorded, current) == []


def test_conda_packages() -> None:
    def conda(*pkgs: CondaPackage) -> object:
        return snapshot(env={"conda": CondaEnv("linux-64", packages=pkgs)})

    rec = conda(
        CondaPackage("mkl", "2023.1.0", "h213fc3f_46344"),
        CondaPackage("python", "3.11.7", "h955ad1f_0"),
        CondaPackage("zlib", "1.2.13", "h5eee18b_0"),
    )
    cur = conda(
        CondaPackage("mkl", "2024.0.0", "h06a4308_49"),
        CondaPackage("python", "3.11.7", "h955ad1f_1"),
    )
    assert codes(conda_rules.conda_packages(rec, cur)) == {  # type: ignore[arg-type]
        ("error", "conda.version"),
        ("warning", "conda.build"),
        ("error", "conda.missing"),
    }


def _os(**kw: str) -> object:
    base = environment().os
    return snapshot(env={"os": model.replace(base, **kw)})


def test_os_platform_change_is_an_error_and_distro_is_info() -> None:
    rec = snapshot()
    assert codes(os_rules.os_system(rec, _os(machine="aarch64"))) == {("error", "os.platform")}  # type: ignore[arg-type]
    assert codes(os_rules.os_system(rec, _os(pretty_name="Ubuntu 22.04.4 LTS"))) == {  # type: ignore[arg-type]
        ("info", "os.distro")
    }


def test_glibc_is_info_unless_a_locked_wheel_needs_more() -> None:
    rec = snapshot()  # numpy manylinux_2_17, torch manylinux1 (2.5)
    assert codes(os_rules.os_libc(rec, _os(libc_version="2.31"))) == {("info", "os.libc-version")}  # type: ignore[arg-type]
    newer = snapshot(
        env={
            "packages": (
                Package("polars", "1.0", wheel_tags=("cp39-abi3-manylinux_2_28_x86_64",)),
                Package(
                    "either",
                    "1.0",
                    wheel_tags=("cp311-cp311-manylinux_2_17_x86_64.manylinux_2_34_x86_64",),
                ),
            )
        }
    )
    (finding,) = os_rules.os_libc(newer, _os(libc_version="2.27"))  # type: ignore[arg-type]
    assert (finding.severity, finding.code) == ("error", "os.glibc-too-old")
    assert "polars (glibc 2.28)" in finding.message and "either" not in finding.message
    assert codes(os_rules.os_libc(rec, _os(libc="musl", libc_version="1.2.4"))) == {  # type: ignore[arg-type]
        ("error", "os.libc")
    }


def test_wheel_platforms_and_glibc_needed() -> None:
    pkg = Package("x", "1", installed_file="x-1-cp311-cp311-manylinux2014_x86_64.whl")
    assert os_rules.wheel_platforms(pkg) == ("manylinux2014_x86_64",)
    assert os_rules.glibc_needed("manylinux2014_x86_64") == (2, 17)
    assert os_rules.glibc_needed("manylinux_2_28_aarch64") == (2, 28)
    assert os_rules.glibc_needed("any") is None
