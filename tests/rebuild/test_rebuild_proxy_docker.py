"""A plain Docker rebuild on a machine whose pip trusts a CA that containers do not (issue 18).

The index is served over HTTPS on loopback with a certificate of a throwaway CA. pip on this
machine trusts it through its configuration (``cert`` in the pip.conf the test writes), as a
corporate proxy's CA is trusted; the build's containers know nothing of it. With no flag the
rebuild fetches every file here and builds with no network, so it works. With
``--fetch-in-build`` pip in the build meets the unknown CA: the failure is a few short lines
that name the flag that fixes it, and that flag works.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.docker import image_ids, remove_new_dangling_images
from tests.fakes.docker import run_container as run
from tests.fakes.projects import make_sdist, make_wheel
from tests.fakes.sitepackages import SimpleIndex
from tests.fakes.venvs import make_venv, pip_install

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def envsnap(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI with exactly *env* (`tests.conftest.run_envsnap` adds the caller's, whose
    PIP_CERT and CA bundles would stand in for the pip.conf under test)."""
    from tests.conftest import ROOT

    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert, key)."""
    folder.mkdir()
    subj = "/CN=envsnap test CA"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "2", "-subj", subj, cwd=folder)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
             "-subj", "/CN=127.0.0.1", cwd=folder)  # fmt: skip
    (folder / "ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext",
             cwd=folder)  # fmt: skip
    return folder / "ca.pem", folder / "srv.pem", folder / "srv.key"


@dataclass(frozen=True)
class Setup:
    root: Path
    capture: Path
    ca: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def behind_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A venv installed from the HTTPS index, and its capture; the index stays up."""
    from shutil import which

    if which("openssl") is None:
        pytest.skip("openssl is not installed")
    root = tmp_path_factory.mktemp("proxy")
    ca, cert, key = make_ca(root / "ca")
    served = root / "served"
    make_wheel(served, "demo", "1.0")
    make_sdist(served, "sdpkg", "2.0")  # an sdist: built in the container, from the context
    (served / "src").rename(root / "sdist-src")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    index = SimpleIndex(served, tls=tls)
    conf = root / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {index.url}\ncert = {ca}\n")
    # pip's settings and the CA bundles of the calling shell would override the pip.conf
    # (requests prefers REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE to pip's cert).
    ca_vars = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "ENVSNAP_")) and k not in ca_vars
    }
    env |= {"PIP_CONFIG_FILE": str(conf), "ENVSNAP_CACHE_DIR": str(root / "cache")}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        python = make_venv(root / "venv")
        pip_install(python, "--no-deps", "demo==1.0", "sdpkg==2.0", env=env, timeout=300)
        capture = root / "cap"
        done = envsnap("capture", "-q", "--python", str(python), "-o", str(capture), env=env)
        assert done.returncode == 0, done.stderr
        assert (
            index.url.rsplit("/", 1)[0] + "/files/sdpkg-2.0.tar.gz"
            in (capture / "pylock.toml").read_text()
        )
        yield Setup(root, capture, ca, env)
    finally:
        index.close()


@pytest.fixture
def cleanup(docker_client: Any) -> Iterator[list[str]]:
    import docker

    before = image_ids(docker_client)
    tags: list[str] = []
    yield tags
    for tag in tags:
        with contextlib.suppress(docker.errors.ImageNotFound):  # a failed build leaves none
            docker_client.remove_image(tag, force=True)
    remove_new_dangling_images(docker_client, before)


def test_a_plain_rebuild_works_where_only_this_machine_trusts_the_index(
    behind_ca: Setup, python_slim_image: str, cleanup: list[str]
) -> None:
    tag = "envsnap-test/behind-ca:plain"
    cleanup.append(tag)
    done = envsnap("rebuild", str(behind_ca.capture), "-t", tag, env=behind_ca.env)
    assert done.returncode == 0, done.stdout + done.stderr
    code, out = run(tag, ["python", "-c", "import demo, sdpkg; print(demo.VERSION, sdpkg.VERSION)"])
    assert (code, out.strip()) == (0, "1.0 2.0")


def test_fetch_in_build_fails_short_and_names_the_flag_that_works(
    behind_ca: Setup, python_slim_image: str, cleanup: list[str]
) -> None:
    tag = "envsnap-test/behind-ca:online"
    cleanup.append(tag)
    args = ("rebuild", str(behind_ca.capture), "-t", tag, "--fetch-in-build")
    failed = envsnap(*args, env=behind_ca.env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    lines = failed.stderr.splitlines()
    start = next(n for n, ln in enumerate(lines) if ln.startswith("envsnap: error: "))
    report = lines[start:]
    assert report[0].startswith("envsnap: error: build failed at step ")
    assert report[0].endswith(": the command exited with code 1")
    assert report[1].startswith("  last ") and report[1].endswith(" lines of output:")
    assert "CERTIFICATE_VERIFY_FAILED" in "\n".join(report)
    assert report[-1].startswith("  hint: the build does not trust the CA")
    assert "--ca-cert FILE" in report[-1] and "without --fetch-in-build" in report[-1]
    assert len(report) <= 14 and max(len(ln) for ln in report) <= 320, failed.stderr
    assert "\\n" not in failed.stderr
    # The flag named works: pip in the build trusts the CA, which stays out of the image.
    fixed = envsnap(*args, "--ca-cert", str(behind_ca.ca), env=behind_ca.env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    code, out = run(tag, ["sh", "-c", "python -c 'import sdpkg; print(sdpkg.VERSION)'; ls /tmp"])
    assert (code, out.split()) == (0, ["2.0"])
