"""Index look-ups against a loopback simple index, a file:// index and a find-links folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from envsnap.index import lookup as index
from envsnap.index import pipconfig, simpleapi
from envsnap.index.pipconfig import PipConfig
from envsnap.model import ArtifactFile, ModelError, Package
from tests.fakes.sitepackages import SimpleIndex, make_wheel, sha256_of
from tests.fakes.venvs import make_venv, pip_install

DATA = Path(__file__).resolve().parent.parent / "data" / "index"
LINUX = "cp311-cp311-manylinux_2_17_x86_64"


def _pkg(name: str, version: str, *tags: str) -> Package:
    return Package(name=name, version=version, source="index", wheel_tags=tags or ("py3-none-any",))


def _sdist(folder: Path, name: str, version: str) -> Path:
    path = folder / f"{name}-{version}.tar.gz"
    path.write_bytes(f"not really a tarball of {name} {version}".encode())
    return path


def _lock(pkgs: list[Package], config: PipConfig, cache: Path, *, offline: bool = False):
    said: list[str] = []
    locked = index.lock_hashes(
        pkgs, offline=offline, progress=said.append, config=config, cache_dir=cache
    )
    return locked, said


@pytest.fixture
def served(simple_index: SimpleIndex) -> SimpleIndex:
    folder = simple_index.folder
    for tag in (LINUX, "cp311-cp311-win_amd64", "cp311-cp311-macosx_11_0_arm64"):
        make_wheel(folder, "numpyish", "1.2.3", tag)
    make_wheel(folder, "numpyish", "1.2.2", LINUX)
    _sdist(folder, "numpyish", "1.2.3")
    make_wheel(folder, "puresix", "1.0")
    return simple_index


def test_json_index_records_every_file_of_the_installed_version(
    served: SimpleIndex, tmp_path: Path
) -> None:
    config = PipConfig(index_url=served.url)
    locked, _ = _lock(
        [_pkg("numpyish", "1.2.3", LINUX), _pkg("puresix", "1.0")], config, tmp_path / "cache"
    )
    numpyish = locked.packages[0]
    assert locked.unhashed == ()
    assert numpyish.index == served.url
    assert numpyish.installed_file == f"numpyish-1.2.3-{LINUX}.whl"
    names = [f.name for f in numpyish.files]
    assert names == sorted(names) and len(names) == 4 and "numpyish-1.2.3.tar.gz" in names
    assert not any("1.2.2" in n for n in names)
    linux = next(f for f in numpyish.files if f.name == numpyish.installed_file)
    assert linux.sha256 == sha256_of(served.folder / linux.name)
    assert linux.size == (served.folder / linux.name).stat().st_size
    assert linux.upload_time == "2024-05-06T07:08:09.123456Z"
    assert linux.url == served.url.replace("/simple", "/files/") + linux.name
    assert served.requests == ["/simple/numpyish/", "/simple/puresix/"] or sorted(
        served.requests
    ) == ["/simple/numpyish/", "/simple/puresix/"]


def test_html_only_index_gives_hashes_from_fragments(tmp_path: Path) -> None:
    folder = tmp_path / "html"
    wheel = make_wheel(folder, "puresix", "1.0")
    server = SimpleIndex(folder, html_only=True)
    try:
        locked, _ = _lock(
            [_pkg("puresix", "1.0")], PipConfig(index_url=server.url), tmp_path / "cache"
        )
    finally:
        server.close()
    (got,) = locked.packages
    assert got.files == (
        ArtifactFile(
            name=wheel.name,
            url=server.url.replace("/simple", "/files/") + wheel.name,
            sha256=sha256_of(wheel),
        ),
    )


def test_cache_makes_the_second_capture_network_free(served: SimpleIndex, tmp_path: Path) -> None:
    pkgs = [_pkg("numpyish", "1.2.3", LINUX), _pkg("puresix", "1.0"), _pkg("nowhere", "1.0")]
    config = PipConfig(index_url=served.url)
    first, _ = _lock(pkgs, config, tmp_path / "cache")
    assert len(served.requests) == 3 and first.unhashed == ("nowhere",)
    served.requests.clear()
    second, _ = _lock(pkgs, config, tmp_path / "cache")
    offline, said = _lock(pkgs, config, tmp_path / "cache", offline=True)
    assert served.requests == []
    assert second == first == offline
    assert said[-1] == "offline: 1 package(s) not pinned by hash: nowhere"


def test_offline_with_a_cold_cache_lists_every_index_package(
    served: SimpleIndex, tmp_path: Path
) -> None:
    pkgs = [
        _pkg("puresix", "1.0"),
        Package(name="mine", version="1", source="editable", url="file:///src/mine"),
    ]
    locked, said = _lock(pkgs, PipConfig(index_url=served.url), tmp_path / "cache", offline=True)
    assert served.requests == []
    assert locked.unhashed == ("puresix",)
    assert locked.packages == tuple(pkgs)
    assert "puresix" in said[-1]


def _file_index(root: Path) -> str:
    """A PEP 503 folder like /opt/pypi: simple/<name>/index.html pointing at ../../files/."""
    files = root / "files"
    wheel = make_wheel(files, "localonly", "0.5", LINUX)
    make_wheel(files, "localonly", "0.4", LINUX)
    project = root / "simple" / "localonly"
    project.mkdir(parents=True)
    links = "".join(
        f'<a href="../../files/{w.name}#sha256={sha256_of(w)}">{w.name}</a>\n'
        for w in sorted(files.iterdir())
    )
    (project / "index.html").write_text(f"<html><body>{links}</body></html>", encoding="utf-8")
    (root / "simple" / "folderonly").mkdir()
    make_wheel(root / "simple" / "folderonly", "folderonly", "2.0")
    assert wheel.exists()
    return (root / "simple").as_uri()


def test_pip_order_file_index_and_find_links_folder(served: SimpleIndex, tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    torch = make_wheel(links, "torch", "2.13.0+cpu", "cp311-cp311-manylinux_2_28_x86_64")
    make_wheel(links, "puresix", "1.0")  # also on the primary index, which wins
    config = PipConfig(
        index_url=served.url,
        extra_index_urls=(_file_index(tmp_path / "pypi"),),
        find_links=(str(links),),
    )
    pkgs = [
        _pkg("folderonly", "2.0"),
        _pkg("localonly", "0.5", LINUX),
        _pkg("puresix", "1.0"),
        _pkg("torch", "2.13.0+cpu", "cp311-cp311-manylinux_2_28_x86_64"),
    ]
    locked, _ = _lock(pkgs, config, tmp_path / "cache")
    got = {p.name: p for p in locked.packages}
    assert locked.unhashed == ()
    assert got["puresix"].index == served.url
    local = got["localonly"]
    assert local.index == (tmp_path / "pypi" / "simple").as_uri()
    assert [f.name for f in local.files] == [f"localonly-0.5-{LINUX}.whl"]
    assert local.files[0].url == (tmp_path / "pypi" / "files" / local.files[0].name).as_uri()
    assert local.files[0].size is not None
    assert got["folderonly"].files[0].sha256 == sha256_of(
        tmp_path / "pypi" / "simple" / "folderonly" / "folderonly-2.0-py3-none-any.whl"
    )
    t = got["torch"]
    assert t.index == links.as_uri() and t.installed_file == torch.name
    assert t.files == (
        ArtifactFile(
            name=torch.name, url=torch.as_uri(), sha256=sha256_of(torch), size=torch.stat().st_size
        ),
    )
    # The primary index was asked (and answered 404) before the local sources were used.
    assert "/simple/torch/" in served.requests


def test_a_local_index_page_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    config = PipConfig(index_url=_file_index(tmp_path / "pypi"))
    page = tmp_path / "pypi" / "simple" / "localonly" / "index.html"
    pkgs = [_pkg("localonly", "0.5", LINUX)]
    first, _ = _lock(pkgs, config, tmp_path / "cache")
    again, _ = _lock(pkgs, config, tmp_path / "cache")
    assert again == first and first.unhashed == ()
    assert [f.name for f in first.packages[0].files] == [f"localonly-0.5-{LINUX}.whl"]
    # A page that names a new file is read again (its size and mtime changed).
    newer = make_wheel(tmp_path / "pypi" / "files", "localonly", "0.5", "py3-none-any")
    text = page.read_text(encoding="utf-8")
    link = f'<a href="../../files/{newer.name}#sha256={sha256_of(newer)}">{newer.name}</a>\n'
    page.write_text(text.replace("</body>", link + "</body>"), encoding="utf-8")
    changed, _ = _lock(pkgs, config, tmp_path / "cache")
    assert [f.name for f in changed.packages[0].files] == sorted(
        [f"localonly-0.5-{LINUX}.whl", newer.name]
    )


def test_find_links_url_page(served: SimpleIndex, tmp_path: Path) -> None:
    page = served.url + "/numpyish/"
    config = PipConfig(no_index=True, find_links=(page,))
    pkgs = [_pkg("numpyish", "1.2.3", LINUX), _pkg("puresix", "1.0")]
    locked, _ = _lock(pkgs, config, tmp_path / "cache")
    assert served.requests == ["/simple/numpyish/"]  # one page for every package
    got = locked.packages[0]
    assert got.index == page and len(got.files) == 4
    assert got.installed_file == f"numpyish-1.2.3-{LINUX}.whl"
    assert locked.unhashed == ("puresix",)


def test_network_errors_leave_the_package_unhashed_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = PipConfig(index_url=f"http://127.0.0.1:{port}/simple", timeout=5)
    pkgs = [_pkg("puresix", "1.0"), _pkg("other", "2.0")]
    locked, said = _lock(pkgs, config, tmp_path / "cache")
    assert locked.unhashed == ("puresix", "other")
    assert locked.packages == tuple(pkgs)
    (message,) = [m for m in said if m.startswith(f"http://127.0.0.1:{port}/simple: ")]
    assert message.endswith("; not pinned: other, puresix")
    assert not (tmp_path / "cache").exists()  # errors are not cached


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_unreadable_local_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    # A regular file that fails to read even for root: reading /proc/self/mem at 0 is EIO.
    (links / "puresix-1.0-py3-none-any.whl").symlink_to("/proc/self/mem")
    config = PipConfig(no_index=True, find_links=(str(links),))
    locked, said = _lock([_pkg("puresix", "1.0")], config, tmp_path / "cache")
    assert locked.unhashed == ("puresix",)
    assert said[-1] == f"{links.as_uri()}: cannot read (Input/output error); not pinned: puresix"


def test_credentials_are_sent_but_never_recorded(served: SimpleIndex, tmp_path: Path) -> None:
    secret = served.url.replace("http://", "http://user:s3cret@")
    locked, _ = _lock([_pkg("puresix", "1.0")], PipConfig(index_url=secret), tmp_path / "cache")
    (got,) = locked.packages
    assert got.index == served.url
    assert "s3cret" not in repr(got)
    cached = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert "s3cret" not in cached


def test_recorded_pypi_json_and_html_pages_agree() -> None:
    base = "https://pypi.org/simple/six/"
    from_json = simpleapi.parse_json_page((DATA / "pypi-six.json").read_text(), base)
    from_html = simpleapi.parse_html_page((DATA / "pypi-six.html").read_text(), base)
    pick_json = simpleapi.select_version(from_json, "six", "1.17.0")
    pick_html = simpleapi.select_version(from_html, "six", "1.17.0")
    assert [f.name for f in pick_json] == ["six-1.17.0-py2.py3-none-any.whl", "six-1.17.0.tar.gz"]
    assert [(f.name, f.url, f.sha256) for f in pick_json] == [
        (f.name, f.url, f.sha256) for f in pick_html
    ]
    assert pick_json[0].upload_time == "2024-12-04T17:35:26.475808Z"
    assert pick_json[0].size == 11050


def test_recorded_file_index_page_resolves_relative_links() -> None:
    base = "file:///opt/pypi/simple/absl-py/"
    (got,) = simpleapi.parse_html_page((DATA / "file-index-absl-py.html").read_text(), base)
    assert got.url == "file:///opt/pypi/files/absl_py-2.5.0-py3-none-any.whl"
    assert got.sha256 == "0f17b89f2a4eaaedc4f28c622998aa690564b3012a396a4ffad0821007fe03ba"


def test_installed_file_matches_compressed_tag_sets() -> None:
    files = [
        ArtifactFile(name="x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ArtifactFile(name="x-1-cp311-cp311-win_amd64.whl"),
        ArtifactFile(name="x-1.tar.gz"),
    ]
    tags = set(simpleapi.tags_of("cp311-cp311-manylinux2014_x86_64")) | set(
        simpleapi.tags_of("cp311-cp311-manylinux_2_17_x86_64")
    )
    assert simpleapi.installed_file(files, tags) == files[0].name
    built_locally = set(simpleapi.tags_of("cp311-cp311-linux_x86_64"))
    assert simpleapi.installed_file(files, built_locally) == "x-1.tar.gz"


@pytest.mark.parametrize(
    "line",
    [
        "py3-none-any",
        "py2.py3-none-any",
        "CP311-cp311-Manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp39.cp310-abi3.none-win_amd64.win32",
        "py3-none",
        "py3-none-any-x",
        "py3..py2-none-any",
        "3py-none-any",
        "",
    ],
)
def test_tags_of_reads_a_tag_line_as_packaging_does(line: str) -> None:
    from packaging.tags import parse_tag

    try:
        expected = {str(t) for t in parse_tag(line)}
    except ValueError:
        expected = set()
    assert simpleapi.tags_of(line) == expected


@pytest.mark.parametrize(
    "name",
    [
        "six-1.17.0-py2.py3-none-any.whl",
        "Six-1.17.0-py2.py3-none-any.whl",
        "six-1.17-py3-none-any.whl",
        "six-1.17.0-1build-py3-none-any.whl",
        "six-1.17.0-build-py3-none-any.whl",
        "six-1.17.0-py3-none.whl",
        "six__x-1.17.0-py3-none-any.whl",
        "six-1.17.0.tar.gz",
        "six-1.17.zip",
        "six-1.17.0.tar.bz2",
        "six-1.17.0-1.tar.gz",
        "six_x-1.17.0.tar.gz",
        "other-1.17.0-py3-none-any.whl",
        "six-1.17.0.0-py3-none-any.whl",
        "six-v1.17-py3-none-any.whl",
        "six-1.17.0.0.tar.gz",
        "six-01.17.0.zip",
        "six-bad.tar.gz",
        "six.tar.gz",
        "-1.17.0.tar.gz",
    ],
)
def test_select_version_agrees_with_packaging(name: str) -> None:
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
    from packaging.version import Version

    try:
        if name.endswith(".whl"):
            parsed = parse_wheel_filename(name)[:2]
        else:
            parsed = parse_sdist_filename(name)
        expected = parsed == ("six", Version("1.17.0"))
    except ValueError:
        expected = False
    got = simpleapi.select_version([ArtifactFile(name=name)], "Six", "1.17.0")
    assert [f.name for f in got] == ([name] if expected else [])


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a-1.tar.gz", "sha256": "ab", "size": 3, "upload-time": "2024-01-01T00:00:00Z"},
        {"name": "a-1.tar.gz", "url": "https://x/a-1.tar.gz", "path": "a"},
        {"name": "a", "size": True},
        {"name": "a", "size": "3"},
        {"name": 3},
        {"name": "a", "stamp": [1, 2]},
        {"url": "https://x"},
        ["not", "a", "table"],
    ],
)
def test_cached_files_read_as_from_dict_reads_them(data: object) -> None:
    try:
        expected: object = ArtifactFile.from_dict(data)
    except ModelError as exc:
        expected = str(exc)
    try:
        got: object = index._cached_file(data)
    except ModelError as exc:
        got = str(exc)
    assert got == expected


def test_canonical_name_matches_packaging() -> None:
    from packaging.utils import canonicalize_name

    from envsnap._text import canonical_name

    for name in ("Six", "zope.interface", "a__b--c..d", "A-_.B", "ruamel.yaml.clib", "x"):
        assert canonical_name(name) == canonicalize_name(name)


def test_canonical_time() -> None:
    assert simpleapi.canonical_time("2024-12-04T17:35:26.475808Z") == "2024-12-04T17:35:26.475808Z"
    assert simpleapi.canonical_time("2024-12-04T19:35:26+02:00") == "2024-12-04T17:35:26Z"
    assert simpleapi.canonical_time("yesterday") is None


# --- pip configuration ---------------------------------------------------------------------------


def test_pip_precedence_files_sections_and_environment() -> None:
    global_conf = {"global": {"index-url": "https://global/simple", "find-links": "/g1 /g2"}}
    user_conf = {
        "global": {"extra-index-url": "\nfile:///a/simple\nfile:///b/simple", "cert": "/c.pem"}
    }
    venv_conf = {"install": {"index-url": "https://install/simple"}}
    got = pipconfig.merge_sections([global_conf, user_conf, venv_conf], {})
    assert got.index_url == "https://install/simple"
    assert got.extra_index_urls == ("file:///a/simple", "file:///b/simple")
    assert got.find_links == ("/g1", "/g2") and got.cert == "/c.pem"
    env = pipconfig.merge_sections(
        [global_conf, venv_conf],
        {"PIP_FIND_LINKS": "/e1  /e2", "PIP_INDEX_URL": "https://env/simple"},
    )
    assert env.find_links == ("/e1", "/e2") and env.index_url == "https://env/simple"
    assert pipconfig.merge_sections([], {"PIP_NO_INDEX": "yes"}).indexes == ()
    assert pipconfig.merge_sections([], {}).indexes == ("https://pypi.org/simple",)


def test_load_reads_pip_conf_files_and_skips_a_broken_one(tmp_path: Path) -> None:
    """`load` on real files: the site file's [install] beats [global], $PIP_CONFIG_FILE comes
    last, [freeze] is not pip install's, and a malformed file is skipped, not fatal."""
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pip.conf").write_text(
        "[install]\nindex-url = https://install/simple\n[freeze]\nindex-url = https://no\n"
    )
    env_file = tmp_path / "env.conf"
    env_file.write_text(
        "[global]\nextra-index-url =\n    file:///a/simple\n    file:///b/simple\n"
        "cert = /c.pem\nfind-links = /g1 /g2\n"
    )
    environ = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_DIRS": str(tmp_path / "xdg"),
        "VIRTUAL_ENV": str(venv),
        "PIP_CONFIG_FILE": str(env_file),
    }
    got = pipconfig.load(environ)
    assert got.index_url == "https://install/simple"
    assert got.extra_index_urls == ("file:///a/simple", "file:///b/simple")
    assert got.find_links == ("/g1", "/g2") and got.cert == "/c.pem"
    env_file.write_text("[global\nbroken")
    assert pipconfig.load(environ).index_url == "https://install/simple"


def test_config_files_follow_pip(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "VIRTUAL_ENV": "/venv", "XDG_CONFIG_DIRS": "/x1:/x2"}
    assert pipconfig.config_files(env) == (
        "/x1/pip/pip.conf",
        "/x2/pip/pip.conf",
        "/etc/pip.conf",
        f"{tmp_path}/.pip/pip.conf",
        f"{tmp_path}/.config/pip/pip.conf",
        "/venv/pip.conf",
    )
    own = tmp_path / "own.conf"
    own.write_text("[global]\nfind-links = /own\n")
    with_file = pipconfig.config_files({**env, "PIP_CONFIG_FILE": str(own)})
    assert with_file[-1] == str(own) and f"{tmp_path}/.pip/pip.conf" not in with_file
    assert pipconfig.config_files({**env, "PIP_CONFIG_FILE": os.devnull}) == ()


def test_load_reads_the_real_files(tmp_path: Path) -> None:
    (tmp_path / ".config" / "pip").mkdir(parents=True)
    (tmp_path / ".config" / "pip" / "pip.conf").write_text(
        "[global]\nfind-links = /opt/wheels\nextra-index-url = file:///opt/pypi/simple\n"
    )
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_DIRS": str(tmp_path / "none"),
        "VIRTUAL_ENV": str(tmp_path),
        "PIP_CERT": "/ca.crt",
    }
    got = pipconfig.load(env)
    assert got.find_links == ("/opt/wheels",) and got.cert == "/ca.crt"
    assert got.indexes == ("https://pypi.org/simple", "file:///opt/pypi/simple")


def test_cli_recapture_is_network_free_and_offline_names_unhashed(
    served: SimpleIndex, tmp_path: Path, cli
) -> None:
    python = make_venv(tmp_path / "venv")
    env = {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": served.url,
        "PIP_FIND_LINKS": "",
        "ENVSNAP_CACHE_DIR": str(tmp_path / "cache"),
    }
    pip_install(python, "puresix==1.0", env={**os.environ, **env})
    served.requests.clear()
    args = ("capture", "-o", str(tmp_path / "out"), "--python", str(python))
    first = cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert served.requests == ["/simple/puresix/"]
    lock = (tmp_path / "out" / "pylock.toml").read_text()
    served.requests.clear()
    second = cli(*args, env=env)
    assert second.returncode == 0, second.stderr
    assert served.requests == []
    assert (tmp_path / "out" / "pylock.toml").read_text().split("created-at")[0] == lock.split(
        "created-at"
    )[0]
    cold = cli(*args, "--offline", env={**env, "ENVSNAP_CACHE_DIR": str(tmp_path / "cold")})
    assert cold.returncode == 0, cold.stderr
    assert served.requests == []
    assert "not pinned by hash (offline or not on any index): puresix" in cold.stderr
    from envsnap.formats import pylock

    assert pylock.load(tmp_path / "out" / "pylock.toml").unhashed == ("puresix",)


@pytest.mark.network
def test_real_pypi_through_the_users_pip_configuration(tmp_path: Path) -> None:
    """PEP 691 JSON over TLS, with the CA bundle pip is configured with (skips when offline)."""
    config = pipconfig.load()
    if config.index_url != pipconfig.DEFAULT_INDEX:
        pytest.skip(f"pip is configured with another index: {config.index_url}")
    config = PipConfig(index_url=config.index_url, cert=config.cert, timeout=20)
    locked, said = _lock(
        [_pkg("six", "1.17.0", "py2-none-any", "py3-none-any")], config, tmp_path / "cache"
    )
    if locked.unhashed:
        pytest.skip(f"PyPI not reachable: {said[-1]}")
    (six,) = locked.packages
    assert six.installed_file == "six-1.17.0-py2.py3-none-any.whl"
    wheel = next(f for f in six.files if f.name == six.installed_file)
    assert wheel.sha256 == "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    assert wheel.url is not None and wheel.url.startswith("https://files.pythonhosted.org/")
    assert [f.name for f in six.files] == ["six-1.17.0-py2.py3-none-any.whl", "six-1.17.0.tar.gz"]
