"""Issue #17, classes 2 and 6: one redaction for every URL form, and for every line printed.

The pure door (`envsnap._redact.url` and `text`) gets every form the red team used; then the
real CLI is run where the forms arrive: a git remote in a checkout (`capture`), a daemon address
in DOCKER_HOST (`rebuild`), a tracking URI in MLFLOW_TRACKING_URI (`log --mlflow`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from envsnap._redact import WITHHELD, locate, text, url
from tests.conftest import run_envsnap
from tests.security.conftest import offline_env

SECRETS = ("TOKEN", "hunter2", "s3cr3t")


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("ssh://git@host.example/org/repo.git", "ssh://git@host.example/org/repo.git"),
        ("git@host.example:org/repo.git", "git@host.example:org/repo.git"),
        ("git+ssh://git@host.example/org/repo.git", "git+ssh://git@host.example/org/repo.git"),
        ("ssh://me@host.example/org/repo.git", "ssh://host.example/org/repo.git"),
        ("me@host.example:org/repo.git", "host.example:org/repo.git"),
        ("oauth2:TOKEN@gitlab.example:org/repo.git", "gitlab.example:org/repo.git"),
        ("https:/user:TOKEN@host.example/org/repo", "https:/host.example/org/repo"),
        ("https:///user:TOKEN@host.example/org/repo", "https:///host.example/org/repo"),
        ("https:\\\\user:TOKEN@host.example\\org", "https:\\\\host.example\\org"),
        ("https://u:TOKEN@host.example:notaport/x", "https://host.example:notaport/x"),
        ("https://u:TOKEN@[2001:db8::1]:8443/simple", "https://[2001:db8::1]:8443/simple"),
        ("https://host.example/simple;jsessionid=TOKEN", "https://host.example/simple"),
        ("https://host.example/a.whl?subdirectory=p;token=TOKEN", "https://host.example/a.whl?subdirectory=p"),
        ("https://host.example/a.whl#sha256=ab;token=TOKEN", "https://host.example/a.whl#sha256=ab"),
        ("https://u%40corp:TOKEN@host.example/x", "https://host.example/x"),
        ("HTTPS://U:TOKEN@HOST.example/x", "HTTPS://HOST.example/x"),
        ("https://conda.example/t/TOKEN-1/ch/linux-64", "https://conda.example/t/<TOKEN>/ch/linux-64"),
        ("tcp://user:TOKEN@10.0.0.1:2376", "tcp://10.0.0.1:2376"),
        ("file:///srv/a@b/x.whl", "file:///srv/a@b/x.whl"),
        ("/srv/git/a@b.git", "/srv/git/a@b.git"),
        ("http://[::1", WITHHELD),
    ],
)  # fmt: skip
def test_every_url_form_loses_its_credentials(given: str, recorded: str) -> None:
    assert url(given)[0] == recorded
    assert url(recorded)[0] == recorded  # one answer: the recorded form is a fixed point


@pytest.mark.parametrize(
    "line",
    [
        "fatal: unable to access 'https://user:SECRET9@host.example/r.git/': 403",
        "cannot reach the Docker daemon at tcp://user:SECRET9@10.0.0.1:2376 (refused)",
        "DOCKER_HOST=user:SECRET9@10.0.0.1:2376 is not a URL",
        "API request to http://u:SECRET9@h:5000/api failed (url: /api?token=SECRET9)",
        "remote oauth2:SECRET9@gitlab.example:org/repo.git not found",
        "Authorization: Bearer SECRET9abcdefgh0123 refused",
        "proxy-authorization=Basic SECRET9abcdefgh0123",
        "pip: GITHUB_TOKEN=SECRET9, password=SECRET9 rejected",
        "see (https://u:SECRET9@host.example/x).",
        "curl sent Bearer SECRET9abcdefgh0123 and was refused",  # no ':', '@' nor '='
        "sent basic SECRET9abcdefgh0123",
        "AUTHORIZATION : bearer SECRET9abcdefgh0123",
        "Author\u0131zation: SECRET9abcdefgh0123",  # dotless i: an i to re's IGNORECASE
    ],
)
def test_text_redacts_credentials_in_free_text(line: str) -> None:
    shown = text(line)
    assert "SECRET9" not in shown, shown
    assert text(shown) == shown


def test_text_escapes_controls_c1_bidi_and_zero_width() -> None:
    line = "a\x1b]0;x\x07 b\x9b31m c\u202egnp.exe d\u200be\ufeff f\u2028g\U000e0041"
    shown = text(line)
    assert shown.isprintable()
    for escape in ("\\x1b", "\\x07", "\\x9b", "\\u202e", "\\u200b", "\\ufeff", "\\u2028"):
        assert escape in shown
    assert text("a\u00a0b é ü 中文") == "a\u00a0b é ü 中文"  # visible text stays


def test_text_keeps_what_is_no_credential() -> None:
    for line in (
        "base image python:3.11.7-slim@sha256:" + "e" * 64,
        "git@github.com:org/repo.git",
        "mail alice@example.org",
        "export TOKENIZERS_PARALLELISM=false",
        "https://pypi.org/simple/numpy/",
    ):
        assert text(line) == line


@pytest.mark.parametrize(
    ("remote", "host"),
    [
        ("C:/src/repo", None),
        ("c:\\src\\repo", None),
        ("File:///srv/repo.git", None),
        ("FILE:/srv/repo.git", None),
        ("../repo", None),
        ("localhost:/srv/repo.git", "localhost"),
        ("git@127.0.0.2:org/r.git", "127.0.0.2"),
        ("https://[::1]:8080/r.git", "::1"),
        ("ssh://git@Host.Example:2222/r.git", "host.example"),
    ],
)
def test_locate_says_where_a_remote_points(remote: str, host: str | None) -> None:
    where = locate(remote)
    assert (where.host if where else None) == host


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True)
    return repo


@pytest.mark.parametrize(
    "remote",
    [
        "oauth2:TOKEN@gitlab.example:org/repo.git",
        "https:/user:TOKEN@gitlab.example/org/repo.git",
        "https://u:TOKEN@gitlab.example:notaport/x.git",
        "https://u:TOKEN@[2001:db8::1]:notaport/x.git",
    ],
)
def test_capture_records_any_remote_redacted_and_succeeds(
    repository: Path, tmp_path: Path, venv: tuple[Path, Path], remote: str
) -> None:
    subprocess.run(["git", "-C", str(repository), "remote", "add", "origin", remote], check=True)
    out = tmp_path / "cap"
    done = run_envsnap(
        "capture", "--offline", "-q", "--python", str(venv[0]), "-o", str(out),
        env=offline_env(tmp_path), cwd=repository,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    recorded = (out / "project.toml").read_text()
    assert "TOKEN" not in recorded + done.stdout + done.stderr
    assert f'remote = "{url(remote)[0]}"' in recorded


def test_docker_host_credentials_never_reach_an_error_line(
    bare_capture: Path, tmp_path: Path
) -> None:
    env = {**offline_env(tmp_path), "DOCKER_HOST": "tcp://bob:s3cr3t@127.0.0.1:9"}
    done = run_envsnap("rebuild", str(bare_capture), "--tag", "t:1", env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "cannot reach the Docker daemon at tcp://127.0.0.1:9" in done.stderr
    assert not any(s in done.stdout + done.stderr for s in SECRETS)


def test_mlflow_tracking_uri_credentials_never_reach_an_error_line(
    bare_capture: Path, tmp_path: Path
) -> None:
    pytest.importorskip("mlflow", reason="MLflow is not installed (pip install mlflow-skinny)")
    env = {
        **offline_env(tmp_path),
        "MLFLOW_TRACKING_URI": "http://alice:hunter2@127.0.0.1:9/?token=TOKEN",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    done = run_envsnap("log", "--mlflow", str(bare_capture), env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("envsnap: error: MLflow: ")
    assert not any(s in done.stdout + done.stderr for s in SECRETS), done.stderr


def test_a_line_that_cannot_hold_a_credential_compiles_no_pattern() -> None:
    """`check`'s one line ("envsnap: this machine matches ...") is printed without compiling
    the three patterns of `text` (a millisecond of every check)."""
    from tests.fakes.imports import loaded

    code = (
        "from envsnap import _redact\n"
        "assert _redact.text('envsnap: this machine matches the capture in ./cap-1') "
        "== 'envsnap: this machine matches the capture in ./cap-1'\n"
        "pats = (_redact._IN_TEXT_URL, _redact._IN_TEXT_USERINFO, _redact._IN_TEXT_SECRET)\n"
        "assert not any('match' in vars(p) for p in pats), 'compiled'\n"
    )
    assert loaded(code, ("envsnap.nothing",)) == []
