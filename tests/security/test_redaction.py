"""Issue #9, attacks 1-4: nothing that authenticates a person reaches a capture, a cache or a line.

Each test forges what a real machine holds (dist-info folders, an index answer, a pip.conf, the
environment), runs the real `envsnap capture`, and searches every file it wrote.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import tomllib

from tests.conftest import run_envsnap
from tests.fakes.sitepackages import SimpleIndex, make_wheel, write_dist_info
from tests.security.conftest import offline_env, tree_text

SHA = "a" * 64


def _capture(python: Path, out: Path, env: dict[str, str], *extra: str) -> Any:
    return run_envsnap("capture", "--python", str(python), "-o", str(out), *extra, env=env)


def test_direct_url_credentials_are_never_written(tmp_path: Path, venv: Any) -> None:
    python, site = venv
    archive = {"archive_info": {"hashes": {"sha256": SHA}}}
    write_dist_info(
        site, "a-basic", "1.0",
        direct_url={"url": "https://alice:hunter2PW@files.example/a-1.0.tar.gz", **archive},
    )  # fmt: skip
    write_dist_info(
        site, "b-vcs", "1.0",
        direct_url={
            "url": "https://ghp_TOKENabc123@github.com/o/b.git",
            "vcs_info": {"vcs": "git", "commit_id": "c" * 40},
        },
    )  # fmt: skip
    write_dist_info(
        site, "c-query", "1.0",
        direct_url={"url": "https://files.example/c-1.0.tar.gz?token=QUERYSECRET9#sha256=" + SHA,
                    **archive},
    )  # fmt: skip
    out = tmp_path / "cap"
    done = _capture(python, out, offline_env(tmp_path), "--offline")
    assert done.returncode == 0, done.stderr
    written = tree_text(out, tmp_path / "cache") + done.stdout + done.stderr
    for secret in ("hunter2PW", "alice", "ghp_TOKENabc123", "QUERYSECRET9"):
        assert secret not in written
    lock = tomllib.loads((out / "pylock.toml").read_text())
    urls = {p["name"]: p.get("archive", p.get("vcs", {})).get("url") for p in lock["packages"]}
    assert urls["a-basic"] == "https://files.example/a-1.0.tar.gz"
    assert urls["b-vcs"] == "https://github.com/o/b.git"
    assert urls["c-query"] == "https://files.example/c-1.0.tar.gz#sha256=" + SHA  # safe part kept
    withheld = lock["tool"]["envsnap"]["withheld"]
    assert withheld == ["packages.a-basic.url", "packages.b-vcs.url", "packages.c-query.url"]
    # said once, naming the fields and never the values
    assert done.stderr.count("withheld from the capture") == 1
    assert "packages.b-vcs.url" in done.stderr
    requirements = (out / "requirements.txt").read_text()
    assert "https://files.example/a-1.0.tar.gz" in requirements


class SignedIndex(SimpleIndex):
    """An index whose file links are signed, as S3/GCS-backed indexes serve them."""

    def page(self, project: str, accept: str) -> tuple[str, bytes] | None:
        found = super().page(project, accept)
        if found is None:
            return None
        ctype, body = found
        doc = json.loads(body)
        for f in doc["files"]:
            f["url"] += "?X-Amz-Signature=SIGNATURE77&token=LINKTOKEN88"
        return ctype, json.dumps(doc).encode()


def test_signed_index_links_lose_their_query(tmp_path: Path, venv: Any) -> None:
    python, site = venv
    served = tmp_path / "served"
    make_wheel(served, "demo", "1.0")
    write_dist_info(site, "demo", "1.0")
    index = SignedIndex(served)
    try:
        out = tmp_path / "cap"
        env = offline_env(tmp_path, PIP_INDEX_URL=index.url)
        env.pop("PIP_CONFIG_FILE")
        env["PIP_CONFIG_FILE"] = str(tmp_path / "no-pip.conf")
        done = _capture(python, out, env)
    finally:
        index.close()
    assert done.returncode == 0, done.stderr
    written = tree_text(out, tmp_path / "cache") + done.stdout + done.stderr
    assert "SIGNATURE77" not in written and "LINKTOKEN88" not in written
    lock = tomllib.loads((out / "pylock.toml").read_text())
    [pkg] = lock["packages"]
    assert pkg["wheels"][0]["url"].endswith("/files/demo-1.0-py3-none-any.whl")
    # the rendered context's copy of the index cache holds the same, redacted, answers
    ctx = tmp_path / "ctx"
    rendered = run_envsnap(
        "rebuild", str(out), "--no-build", "--context", str(ctx), "--fetch-in-build", env=env
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "SIGNATURE77" not in tree_text(ctx) and "LINKTOKEN88" not in tree_text(ctx)


def test_pip_conf_credentials_are_not_cached_and_caches_are_private(
    tmp_path: Path, venv: Any
) -> None:
    python, site = venv
    write_dist_info(site, "demo", "1.0")
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://bob:PIPCONFSECRET@127.0.0.1:9/simple\n")
    conf.chmod(0o600)
    env = offline_env(tmp_path, PIP_CONFIG_FILE=str(conf))
    done = _capture(python, tmp_path / "cap", env, "--offline")
    assert done.returncode == 0, done.stderr
    cache = tmp_path / "cache"
    assert "PIPCONFSECRET" not in tree_text(cache, tmp_path / "cap") + done.stderr
    # a second, online capture fails to reach the index: the message names it redacted
    again = _capture(python, tmp_path / "cap", env)
    assert again.returncode == 0, again.stderr
    assert "PIPCONFSECRET" not in tree_text(cache, tmp_path / "cap") + again.stderr
    entries = list(cache.rglob("*"))
    assert entries
    for path in [cache, *entries]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_allow_listed_variables_keep_only_their_shape(tmp_path: Path, venv: Any) -> None:
    python, _ = venv
    env = offline_env(
        tmp_path,
        XLA_FLAGS="--xla_dump_to=gs://bucket/x?token=XLATOKEN42",
        PYTORCH_CUDA_ALLOC_CONF="backend:native,password:ALLOCSECRET",
        OMP_NUM_THREADS="4",
        CUBLAS_WORKSPACE_CONFIG=":4096:8",
    )
    out = tmp_path / "cap"
    done = _capture(python, out, env, "--offline")
    assert done.returncode == 0, done.stderr
    text = (out / "pylock.toml").read_text()
    assert "XLATOKEN42" not in text and "gs://" not in text
    tool = tomllib.loads(text)["tool"]["envsnap"]
    assert tool["envvars"]["OMP_NUM_THREADS"] == "4"
    assert tool["envvars"]["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert tool["envvars"]["XLA_FLAGS"] == "<withheld>"  # present, value withheld
    assert "envvars.XLA_FLAGS" in tool["withheld"]
    assert "XLATOKEN42" not in done.stderr and "envvars.XLA_FLAGS" in done.stderr
    # the withheld value never becomes an ENV line of the image
    render = run_envsnap("rebuild", str(out), "--no-build", env=offline_env(tmp_path))
    assert render.returncode == 0, render.stderr
    assert "OMP_NUM_THREADS=" in render.stdout
    assert "XLA_FLAGS" not in render.stdout and "withheld" not in render.stdout
    # a shaped value that is a plain allocator setting is kept
    ok = _capture(
        python, tmp_path / "cap2", {**env, "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"},
        "--offline",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    kept = tomllib.loads((tmp_path / "cap2" / "pylock.toml").read_text())["tool"]["envsnap"]
    assert kept["envvars"]["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"


def test_cache_files_are_created_private_even_with_a_lax_umask(tmp_path: Path, venv: Any) -> None:
    python, _ = venv
    old = os.umask(0)
    try:
        done = _capture(python, tmp_path / "cap", offline_env(tmp_path), "--offline")
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    for path in (tmp_path / "cache").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_an_index_token_in_the_query_is_not_on_the_progress_line(tmp_path: Path, venv: Any) -> None:
    """The progress lines (shown on a terminal only) name the index without its query."""
    import sys

    from tests.conftest import ROOT
    from tests.fakes.tty import run_on_tty

    python, site = venv
    write_dist_info(site, "demo", "1.0")
    env = {
        **os.environ,
        **offline_env(tmp_path),
        "PYTHONPATH": str(ROOT),
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple?access_token=IDXTOKEN55",
    }
    argv = [sys.executable, "-m", "envsnap", "capture", "--python", str(python)]
    done, shown = run_on_tty([*argv, "-o", str(tmp_path / "cap")], stream="stderr", env=env)
    assert done.returncode == 0, shown
    assert "looking up 1 package(s) on http://127.0.0.1:9/simple" in shown  # it was shown
    assert "IDXTOKEN55" not in shown + tree_text(tmp_path / "cap", tmp_path / "cache")
