"""The conda rules on hand-made snapshots: remedies that name the channel, a conda CUDA toolkit
judged by relevance, and the virtual packages against this machine."""

from __future__ import annotations

from envsnap.checks.rules import conda as rules
from envsnap.model import CondaEnv, CondaPackage, CudaStack, Snapshot, replace
from tests.fakes.snapshots import codes, gpus, snapshot

FORGE = "conda-forge"


def conda_snapshot(*pkgs: CondaPackage, cpu_only: bool = False, **env_kw: object) -> Snapshot:
    env: dict[str, object] = {"conda": CondaEnv("linux-64", packages=pkgs, **env_kw)}
    if cpu_only:  # no CUDA framework, no pip package that runs CUDA
        env.update(cuda=CudaStack(), packages=())
    return snapshot(env=env)


def test_remedy_names_the_channel_and_the_exact_build() -> None:
    rec = conda_snapshot(CondaPackage("zlib", "1.3.1", "hb9d3cd8_2", channel=FORGE))
    found = rules.conda_packages(rec, conda_snapshot())
    assert [(f.severity, f.code, f.remedy) for f in found] == [
        (
            "error",
            "conda.missing",
            "conda install -c conda-forge zlib=1.3.1=hb9d3cd8_2 (or envsnap rebuild --prefix PATH)",
        )
    ]


def test_a_shell_word_in_a_recorded_name_stays_inert() -> None:
    rec = conda_snapshot(CondaPackage("x", "1", "0", channel="a b; rm -rf ~"))
    [found] = rules.conda_packages(rec, conda_snapshot())
    assert "-c 'a b; rm -rf ~' x=1=0" in found.remedy


def test_the_same_build_from_another_file_is_a_warning() -> None:
    rec = conda_snapshot(CondaPackage("zlib", "1.3.1", "h_0", sha256="a" * 64))
    cur = conda_snapshot(CondaPackage("zlib", "1.3.1", "h_0", sha256="b" * 64))
    assert codes(rules.conda_packages(rec, cur)) == {("warning", "conda.file")}


def test_a_cuda_toolkit_nothing_runs_is_info_and_one_something_runs_is_not() -> None:
    toolkit = CondaPackage("cudatoolkit", "11.8.0", "h6a678d5_0", channel=FORGE)
    other = CondaPackage("cudatoolkit", "12.1.0", "h6a678d5_0", channel=FORGE)
    rec = conda_snapshot(toolkit, cpu_only=True)
    [found] = rules.conda_packages(rec, conda_snapshot(other, cpu_only=True))
    assert (found.severity, found.category, found.code) == ("info", "cuda", "conda.version")
    assert "nothing in the capture runs CUDA" in found.message
    torch = CondaPackage("pytorch", "2.1.0", "py3.11_cuda11.8_cudnn8.7.0_0", channel="pytorch")
    rec = conda_snapshot(toolkit, torch, cpu_only=True)
    cur = conda_snapshot(other, torch, cpu_only=True)
    assert codes(rules.conda_packages(rec, cur)) == {("error", "conda.version")}


def _virtual(rec_virtual: dict[str, str], depends: tuple[str, ...], current: Snapshot) -> set:  # type: ignore[type-arg]
    pkg = CondaPackage("cuda-cudart", "12.4.127", "h_0", depends=depends)
    rec = conda_snapshot(pkg, virtual=tuple(sorted(rec_virtual.items())))
    return codes(rules.conda_virtual(rec, current))


def test_glibc_and_cuda_against_this_machine() -> None:
    here = conda_snapshot(virtual=(("__cuda", "12.2"), ("__glibc", "2.31")))
    needs = ("__cuda >=12.4", "__glibc >=2.17,<3.0.a0")
    assert _virtual({"__glibc": "2.31"}, needs, here) == {("error", "conda.cuda-driver")}
    assert _virtual({"__glibc": "2.36"}, ("__glibc >=2.17",), here) == {("warning", "conda.glibc")}
    assert _virtual({"__glibc": "2.31", "__cuda": "12.2"}, ("__glibc >=2.17",), here) == set()


def test_a_pip_capture_of_this_machine_answers_from_its_c_library_and_driver() -> None:
    plain = snapshot(hw={"gpus": gpus(cuda="12.0")})
    plain = replace(
        plain,
        environment=replace(
            plain.environment, os=replace(plain.environment.os, libc="glibc", libc_version="2.28")
        ),
    )
    assert rules.machine_virtual(plain) == {"__cuda": "12.0", "__glibc": "2.28"}
    found = _virtual({"__glibc": "2.36"}, ("__glibc >=2.34", "__cuda >=12.4"), plain)
    assert found == {("error", "conda.glibc"), ("error", "conda.cuda-driver")}
