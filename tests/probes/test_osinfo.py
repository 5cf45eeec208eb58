"""OS probe: recorded os-release files, container markers, the C library."""

from __future__ import annotations

import itertools
import os
import platform
import shutil
from pathlib import Path

import pytest

from envsnap.probes import osinfo

DATA = Path(__file__).resolve().parent.parent / "data" / "os-release"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("debian-12", ("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)")),
        ("ubuntu-22.04", ("ubuntu", "22.04", "jammy", "Ubuntu 22.04.4 LTS")),
        ("alpine-3.19", ("alpine", "3.19.1", "", "Alpine Linux v3.19")),
    ],
)
def test_recorded_os_release(name: str, expected: tuple[str, str, str, str]) -> None:
    fields = osinfo.parse_os_release((DATA / name).read_text(encoding="utf-8"))
    got = tuple(fields.get(k, "") for k in ("ID", "VERSION_ID", "VERSION_CODENAME", "PRETTY_NAME"))
    assert got == expected


def _shell_words(raw: str) -> str:
    import shlex

    try:
        return " ".join(shlex.split(raw))
    except ValueError:
        return raw.strip("\"'")


def test_values_read_as_shlex_reads_them_and_shlex_loads_only_for_odd_ones() -> None:
    alphabet = ["a", "b", " ", '"', "'", "\\", "\t", "#", "$", "é", "\u00a0"]
    values = ["".join(p) for n in range(5) for p in itertools.product(alphabet, repeat=n)]
    text = "".join(f"K{i}={v}\n" for i, v in enumerate(values))
    fields = osinfo.parse_os_release(text)
    expected = [_shell_words(f"K={v}".strip().partition("=")[2]) for v in values]  # lines strip
    assert [fields[f"K{i}"] for i in range(len(values))] == expected

    from tests.fakes.imports import loaded

    plain = (DATA / "debian-12").read_text(encoding="utf-8")
    code = f"from envsnap.probes import osinfo\nosinfo.parse_os_release({plain!r})"
    assert loaded(code, ("shlex",)) == []


def test_hand_edited_os_release_does_not_break() -> None:
    text = "ID=debian\nPRETTY_NAME=\"unbalanced\n# comment\ngarbage line\nVERSION_ID='12'\n"
    fields = osinfo.parse_os_release(text)
    assert fields == {"ID": "debian", "PRETTY_NAME": "unbalanced", "VERSION_ID": "12"}


def _root(tmp_path: Path, release: str | None = "debian-12") -> Path:
    if release:
        (tmp_path / "etc").mkdir()
        shutil.copy(DATA / release, tmp_path / "etc/os-release")
    return tmp_path


def test_probe_reads_the_tree(tmp_path: Path) -> None:
    got = osinfo.probe(_root(tmp_path, "ubuntu-22.04"), environ={})
    assert (got.distro, got.version, got.codename) == ("ubuntu", "22.04", "jammy")
    assert got.system == platform.system()
    assert got.machine == platform.machine()
    assert got.kernel == platform.release()
    assert got.container is None


def test_usr_lib_os_release_fallback(tmp_path: Path) -> None:
    (tmp_path / "usr/lib").mkdir(parents=True)
    shutil.copy(DATA / "alpine-3.19", tmp_path / "usr/lib/os-release")
    assert osinfo.probe(tmp_path, environ={}).distro == "alpine"


def test_no_os_release_leaves_fields_empty(tmp_path: Path) -> None:
    got = osinfo.probe(tmp_path, environ={})
    assert (got.distro, got.version, got.pretty_name) == ("", "", "")


@pytest.mark.parametrize(
    ("marker", "environ", "cgroup", "expected"),
    [
        (".dockerenv", {}, "", "docker"),
        ("run/.containerenv", {}, "", "podman"),
        (None, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "", "kubernetes"),
        (None, {}, "0::/kubepods/burstable/pod1/abc\n", "kubernetes"),
        (None, {}, "12:memory:/docker/3f2a\n", "docker"),
        (None, {"container": "systemd-nspawn"}, "0::/\n", "systemd-nspawn"),
        (None, {}, "0::/\n", None),
    ],
)
def test_container_detection(tmp_path: Path, marker, environ, cgroup, expected) -> None:
    if marker:
        (tmp_path / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / marker).write_text("")
    proc1 = tmp_path / "proc/1"
    proc1.mkdir(parents=True)
    (proc1 / "cgroup").write_text(cgroup)
    assert osinfo.probe(tmp_path, environ=environ).container == expected


@pytest.mark.skipif(not hasattr(os, "confstr"), reason="no os.confstr on this platform")
def test_live_libc_matches_confstr() -> None:
    got = osinfo.probe()
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (OSError, ValueError):
        text = ""
    if not text.startswith("glibc "):
        pytest.skip(f"not a glibc system (confstr: {text or 'nothing'})")
    assert (got.libc, got.libc_version) == ("glibc", text.split()[1])
