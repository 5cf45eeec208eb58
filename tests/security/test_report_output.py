"""Issue #17, class 7: the Markdown report is inert, and ticks only what this machine proves.

- Strings from a capture cannot become links (GitHub's autolinks), reorder text (bidi), drive a
  terminal (C1) or start a line (a carriage return in a path).
- "the repository others can clone" is not ticked for a remote on this machine, however it is
  spelled.
- A pushed image is "recorded by the capture" until `report --verify` fetched its manifest by
  digest from the registry (a loopback registry here) and the bytes had that digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from envsnap.formats import image
from envsnap.model import replace
from envsnap.publish import write_report
from tests.conftest import run_envsnap
from tests.fakes.publish import CLEAN, boxes, cpu_snapshot, gpu_snapshot, make_capture
from tests.fakes.registry import TokenRegistry, serve

CLONE = "the repository others can clone"
EXAMPLE = "example environment"


def test_autolinks_bidi_c1_and_carriage_returns_are_inert(tmp_path: Path) -> None:
    hostile = (
        "see https://evil.example/x and www.evil.example, mail a@evil.example "
        "\u202egnp.exe\u202c \x9b31m \x1b[2J"
    )
    snap = gpu_snapshot()
    env = replace(snap.environment, os=replace(snap.environment.os, pretty_name=hostile))
    folder = tmp_path / "cap\rforged line"
    folder.mkdir()
    cap = make_capture(folder, replace(snap, environment=env), project=CLEAN)
    text = write_report(cap, None).markdown
    assert "\r" not in text and "\u202e" not in text and "\x9b" not in text
    assert "\x1b" not in text
    line = next(ln for ln in text.splitlines() if ln.startswith("Python: "))
    assert "https\\://evil.example/x" in line and "www\\.evil.example" in line
    assert "a\\@evil.example" in line and "\\\\u202e" in line and "\\\\x9b" in line
    # no autolink left: every scheme's colon, www's dot and at-sign is escaped
    assert re.search(r"(?<!\\)://|(?<![\\])@|\bwww\.", line) is None
    block = text[text.index("  ```sh\n") :]
    assert "\\rforged line" in block.splitlines()[1]  # the path, one line, shown


@pytest.mark.parametrize(
    "remote",
    [
        "C:/src/project",
        "c:\\src\\project",
        "localhost:/srv/project.git",
        "git@localhost:team/project.git",
        "ssh://git@127.0.0.1/team/project.git",
        "https://127.0.0.1/team/project.git",
        "https://127.4.5.6:8443/team/project.git",
        "http://[::1]:3000/team/project.git",
        "https://[::ffff:127.0.0.1]/team/project.git",
        "https://localhost/team/project.git",
        "https://box.localhost/team/project.git",
        "http://0.0.0.0/team/project.git",
        "https://127.1/team/project.git",
        "File:///srv/project.git",
        "FILE:/srv/project.git",
        "git+file:///srv/project.git",
    ],
)
def test_a_remote_on_this_machine_is_not_a_repository_others_can_clone(
    tmp_path: Path, remote: str
) -> None:
    cap = make_capture(tmp_path, cpu_snapshot(), project=replace(CLEAN, remote=remote))
    text = write_report(cap, None).markdown
    assert boxes(text)[CLONE] is False, remote


@pytest.mark.parametrize(
    "remote",
    ["https://github.com/team/project.git", "git@github.com:team/project.git", "ssh://10.1.2.3/p"],
)
def test_a_remote_elsewhere_is_ticked(tmp_path: Path, remote: str) -> None:
    cap = make_capture(tmp_path, cpu_snapshot(), project=replace(CLEAN, remote=remote))
    assert boxes(write_report(cap, None).markdown)[CLONE] is True


def test_a_recorded_token_never_reaches_the_report(tmp_path: Path) -> None:
    remote = "https://alice:ghp_SECRET9@github.com/team/project.git"
    cap = make_capture(tmp_path, cpu_snapshot(), project=replace(CLEAN, remote=remote))
    assert "SECRET9" not in write_report(cap, None).markdown


MANIFEST = json.dumps({"schemaVersion": 2, "layers": []}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


def pushed_capture(root: Path, host: str) -> Path:
    """A GPU capture whose image.toml says it was pushed to *host*'s team/train by DIGEST."""
    cap = make_capture(root, gpu_snapshot(), project=CLEAN)
    lock = hashlib.sha256((cap / "pylock.toml").read_bytes()).hexdigest()
    record = image.ImageRecord(
        image_id="sha256:" + "d" * 64,
        base_image="python:3.11.7-slim-bookworm",
        tag="train:1",
        lock_digest=f"sha256:{lock}",
        pushed=f"{host}/team/train:1",
        pushed_digest=f"{host}/team/train@{DIGEST}",
    )
    image.write(cap / "image.toml", record)
    return cap


def report(cap: Path, *args: str) -> Any:
    return run_envsnap("report", str(cap), "-o", "-", *args, cwd=cap.parent)


def test_a_pushed_image_is_only_recorded_until_verified(tmp_path: Path) -> None:
    with serve() as (host, registry):
        registry.manifests[("team/train", DIGEST)] = (MANIFEST, "application/json")
        cap = pushed_capture(tmp_path, host)
        plain = report(cap)
        assert plain.returncode == 0, plain.stderr
        assert boxes(plain.stdout)[EXAMPLE] is False
        assert "recorded by the capture" in plain.stdout
        verified = report(cap, "--verify")
    assert verified.returncode == 0, verified.stderr
    assert boxes(verified.stdout)[EXAMPLE] is True
    assert "manifest fetched by digest from the registry" in verified.stdout


def test_verify_takes_an_anonymous_token_when_the_registry_asks(tmp_path: Path) -> None:
    with serve(TokenRegistry) as (host, registry):
        registry.manifests[("team/train", DIGEST)] = (MANIFEST, "application/json")
        done = report(pushed_capture(tmp_path, host), "--verify")
    assert done.returncode == 0, done.stderr
    assert boxes(done.stdout)[EXAMPLE] is True


def test_an_image_missing_from_its_registry_is_not_ticked(tmp_path: Path) -> None:
    with serve() as (host, _registry):
        done = report(pushed_capture(tmp_path, host), "--verify")
    assert done.returncode == 1
    assert boxes(done.stdout)[EXAMPLE] is False
    assert (
        done.stderr == f"envsnap: --verify: {host}/team/train@{DIGEST}: http://{host}: no "
        f"manifest {DIGEST} in team/train\n"
    )


def test_a_registry_that_serves_other_bytes_under_the_digest_is_not_believed(
    tmp_path: Path,
) -> None:
    with serve() as (host, registry):
        registry.manifests[("team/train", DIGEST)] = (b'{"forged": 1}', "application/json")
        done = report(pushed_capture(tmp_path, host), "--verify")
    assert done.returncode == 1
    assert boxes(done.stdout)[EXAMPLE] is False
    assert "not " + DIGEST in done.stdout
