"""conda environments read from a real-format `conda-meta` prefix, with no conda binary."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.model import CondaEnv, Package
from envsnap.probes import conda, packages
from tests.fakes.sitepackages import write_dist_info
from tests.fakes.venvs import make_venv, site_packages

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA = Path(__file__).resolve().parent.parent / "data"


def make_prefix(root: Path) -> Path:
    """A conda prefix: conda-meta records copied from real conda-forge packages."""
    meta = root / "conda-meta"
    meta.mkdir(parents=True)
    for record in sorted((DATA / "conda-meta").glob("*.json")):
        shutil.copy(record, meta / record.name)
    (meta / "history").write_text("==> 2024-10-01 12:00:00 <==\n# cmd: conda create\n")
    return root


def test_probe_reads_every_record(tmp_path: Path) -> None:
    env = conda.probe(str(make_prefix(tmp_path)))
    assert env is not None
    assert env.platform == "linux-64"
    assert env.channels == ("conda-forge",)
    assert [p.name for p in env.packages] == [
        "liblapack",
        "libopenblas",
        "numpy",
        "pip",
        "python",
    ]
    numpy = env.packages[2]
    assert (numpy.version, numpy.build) == ("1.26.4", "py311h64a7726_0")
    assert numpy.md5 == "a502d7aad449a1206efb366d6a12c52d"
    assert numpy.sha256 == "3f4365e11b28e244c95ba8579942b0802761ba7bb31c026f50d1a9ea9c728149"
    assert numpy.url.endswith("/linux-64/numpy-1.26.4-py311h64a7726_0.conda")
    assert numpy.platform == "linux-64"
    assert "python_abi 3.11.* *_cp311" in numpy.depends
    assert env.packages[3].platform == "noarch"


def test_probe_is_deterministic(tmp_path: Path) -> None:
    prefix = make_prefix(tmp_path)
    assert conda.probe(str(prefix)) == conda.probe(str(prefix))


def test_not_a_conda_prefix(tmp_path: Path) -> None:
    assert conda.probe(str(tmp_path)) is None


def test_broken_json_names_the_file(tmp_path: Path) -> None:
    prefix = make_prefix(tmp_path)
    bad = prefix / "conda-meta" / "zlib-1.3.1-hb9d3cd8_2.json"
    bad.write_text('{"name": "zlib", "version": ')
    with pytest.raises(InputError) as err:
        conda.probe(str(prefix))
    assert str(err.value).startswith(f"{bad}: invalid JSON")
    assert "\n" not in str(err.value)


def test_record_without_version_names_the_file(tmp_path: Path) -> None:
    prefix = make_prefix(tmp_path)
    bad = prefix / "conda-meta" / "zlib-1.3.1-hb9d3cd8_2.json"
    bad.write_text(json.dumps({"name": "zlib", "build": "hb9d3cd8_2"}))
    with pytest.raises(InputError, match=r"zlib-1\.3\.1-hb9d3cd8_2\.json: missing 'version'"):
        conda.probe(str(prefix))


def test_record_that_is_not_an_object(tmp_path: Path) -> None:
    prefix = make_prefix(tmp_path)
    (prefix / "conda-meta" / "x-1-0.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="expected a JSON object"):
        conda.probe(str(prefix))


@pytest.mark.parametrize(
    ("channel", "url", "expected"),
    [
        ("https://conda.anaconda.org/conda-forge/linux-64", "", "conda-forge"),
        ("https://conda.anaconda.org/conda-forge/noarch/", "", "conda-forge"),
        ("https://conda.anaconda.org/pytorch/label/nightly/linux-64", "", "pytorch/label/nightly"),
        ("https://repo.anaconda.com/pkgs/main/linux-64", "", "pkgs/main"),
        ("conda-forge", "", "conda-forge"),
        ("", "https://conda.anaconda.org/nvidia/linux-64/cuda-nvcc-12.6.77-0.conda", "nvidia"),
        ("https://conda.graylab.jhu.edu/linux-64", "", "https://conda.graylab.jhu.edu/"),
        (
            "https://conda.anaconda.org/t/tk-123-456/private/linux-64",
            "",
            "https://conda.anaconda.org/t/<TOKEN>/private",
        ),
        (
            "https://alice:hunter2@conda.example.com/chan/osx-arm64",
            "",
            "https://conda.example.com/chan",
        ),
    ],
)
def test_normalize_channel(channel: str, url: str, expected: str) -> None:
    assert conda.normalize_channel(channel, url) == expected


def test_credentials_never_reach_the_model(tmp_path: Path) -> None:
    prefix = make_prefix(tmp_path)
    record = prefix / "conda-meta" / "numpy-1.26.4-py311h64a7726_0.json"
    data = json.loads(record.read_text())
    data["url"] = data["url"].replace("conda.anaconda.org/", "conda.anaconda.org/t/sekrit-tok/")
    data["channel"] = "https://bob:pa55w0rd@conda.anaconda.org/t/sekrit-tok/conda-forge/linux-64"
    record.write_text(json.dumps(data))
    env = conda.probe(str(prefix))
    assert env is not None
    dumped = json.dumps(env.to_dict())
    assert "sekrit-tok" not in dumped
    assert "pa55w0rd" not in dumped


def test_drop_conda_owned_keeps_pip_packages(tmp_path: Path) -> None:
    prefix = make_prefix(tmp_path)
    site = prefix / "lib" / "python3.11" / "site-packages"
    write_dist_info(site, "numpy", "1.26.4", installer="conda")
    # pip's own dist-info from an old conda that wrote no INSTALLER: matched by name+version
    write_dist_info(site, "pip", "24.2", installer=None)
    write_dist_info(site, "requests", "2.32.3", installer="pip", requested=True)
    env = conda.probe(str(prefix))
    assert env is not None
    scanned = packages.scan([str(site)])
    assert {p.name for p in scanned} == {"numpy", "pip", "requests"}
    kept = conda.drop_conda_owned(scanned, env)
    assert [p.name for p in kept] == ["requests"]


def test_drop_conda_owned_keeps_a_pip_upgrade() -> None:
    env = CondaEnv(platform="linux-64")
    upgraded = Package("numpy", "2.1.0", source="index", installer="pip")
    assert conda.drop_conda_owned([upgraded], env) == (upgraded,)


def test_machine_platform_is_a_conda_subdir() -> None:
    assert conda.machine_platform() in {
        "linux-64",
        "linux-aarch64",
        "linux-ppc64le",
        "linux-s390x",
        "osx-64",
        "osx-arm64",
        "win-64",
    }


def _venv_prefix(root: Path) -> tuple[Path, Path]:
    """A real interpreter prefix dressed as a conda env: a venv plus conda-meta records."""
    python = make_venv(root)
    make_prefix_in = root / "conda-meta"
    shutil.copytree(DATA / "conda-meta", make_prefix_in, ignore=shutil.ignore_patterns("*.md"))
    return root, site_packages(python)


@pytest.mark.slow
def test_capture_of_a_conda_prefix_writes_conda_lock(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    prefix, site = _venv_prefix(tmp_path / "env")
    write_dist_info(site, "numpy", "1.26.4", installer="conda")
    write_dist_info(site, "requests", "2.32.3", installer="pip", requested=True)
    out = tmp_path / "snap"
    done = cli("capture", "--offline", "--python", str(prefix / "bin" / "python"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    lock_text = (out / "conda-lock.yml").read_text()
    assert lock_text.startswith("# generated by envsnap")
    assert "numpy-1.26.4-py311h64a7726_0.conda" in lock_text
    with (out / "pylock.toml").open("rb") as fh:
        pylock = tomllib.load(fh)
    # offline, requests has no hash: the lock keeps it under [tool.envsnap] unhashed
    unhashed = pylock.get("tool", {}).get("envsnap", {}).get("unhashed", [])
    names = {p["name"] for p in [*pylock.get("packages", []), *unhashed]}
    assert "requests" in names
    assert "numpy" not in names


def test_empty_conda_meta_uses_the_machine_platform(tmp_path: Path) -> None:
    (tmp_path / "conda-meta").mkdir()
    env = conda.probe(str(tmp_path))
    assert env == CondaEnv(platform=conda.machine_platform())
