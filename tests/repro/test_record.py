"""repro.toml: written by envsnap's writer, read like any capture file (bounded, no links,
every field checked), and what `check` says when the capture has changed since."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.formats import pylock, repro
from envsnap.model import Package, replace
from tests.fakes import samples
from tests.fakes.publish import NUMERICS, write_repro

CLI = Callable[..., subprocess.CompletedProcess[str]]


def full_record() -> repro.ReproRecord:
    return repro.ReproRecord(
        reproducible=False,
        summary='not reproducible: model.pt 4 of 4 tensors differ (max 12 ulps) "quoted"\n',
        command=("python", "train.py", "--lr", "0.1"),
        runs=5,
        lock_digest="sha256:" + "1" * 64,
        numerics_digest="sha256:" + "2" * 64,
        outputs=(
            repro.OutputRecord("model.pt", "torch", False, ("a" * 64, "b" * 64), "model.pt ..."),
            repro.OutputRecord("metrics.json", "json", True, ("c" * 64, "c" * 64)),
        ),
        fixed_by=("PYTHONHASHSEED=0",),
        tried=("PYTHONHASHSEED=0",),
        environments=(("this machine", "host"), ("venv ../b", "venv")),
        causes=("torch threads: 2 -> 1",),
    )


def test_render_and_load_round_trip(tmp_path: Path) -> None:
    rec = full_record()
    text = repro.render(rec)
    assert text == repro.render(rec)  # deterministic: no time stamp
    assert text.startswith("# The verdict of `envsnap repro`")
    assert "version = 1\n" in text and "[verdict]\nreproducible = false\n" in text
    path = repro.write(tmp_path, rec)
    assert path == tmp_path / "repro.toml"
    assert repro.load(path) == rec
    minimal = tmp_path / "min.toml"
    minimal.write_text('version = 1\n[verdict]\nreproducible = true\nsummary = "ok"\n')
    assert repro.load(minimal) == repro.ReproRecord(reproducible=True, summary="ok")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("version = 2\n[verdict]\nreproducible = true\nsummary = ''\n", "version 2 is newer"),
        ("[verdict]\nreproducible = true\nsummary = ''\n", "version: missing"),
        ("version = true\n", "version: expected int"),
        ("version = 1\n", "verdict: missing"),
        ("version = 1\nverdict = 3\n", "verdict: expected a table"),
        ("version = 1\n[verdict]\nreproducible = true\n", "verdict: needs reproducible and"),
        ("version = 1\n[verdict]\nreproducible = 1\nsummary = ''\n", "verdict.reproducible: "),
        ("version = 1\nruns = -1\n[verdict]\nreproducible = true\nsummary = ''\n", "runs: "),
        ("version = 1\ncommand = [1]\n[verdict]\nreproducible = true\nsummary = ''\n", "command"),
        (
            "version = 1\n[verdict]\nreproducible = true\nsummary = ''\n[capture]\n"
            "lock-digest = 'md5:x'\n",
            "capture.lock-digest: expected sha256",
        ),
        (
            "version = 1\n[verdict]\nreproducible = true\nsummary = ''\n[[outputs]]\n"
            "path = 'a'\nsha256 = ['../../etc']\n",
            "outputs[0].sha256: expected a list of strings",
        ),
        ("version = 1\n[verdict\n", "not valid TOML"),
    ],
)
def test_hostile_repro_toml_is_one_error_naming_the_field(
    tmp_path: Path, text: str, error: str
) -> None:
    path = tmp_path / "repro.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=str(path).replace(".", r"\.")) as info:
        repro.load(path)
    assert error in info.value.message


def test_links_fifos_and_huge_files_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "repro.toml"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="symbolic link; refused"):
        repro.load(link)
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(repro.MAX_BYTES + 1)
    with pytest.raises(InputError, match="larger than 4 MiB"):
        repro.load(big)


def check_json(cli: CLI, cap: Path) -> dict[str, dict[str, str]]:
    done = cli("check", str(cap), "--json")
    assert done.returncode in (0, 1), done.stderr
    return {f["code"]: f for f in json.loads(done.stdout)["findings"] if f["category"] == "repro"}


def test_check_says_when_the_verdict_came_from_another_environment(
    cli: CLI, tmp_path: Path
) -> None:
    cap = tmp_path / "cap"
    env = samples.cpu_env()
    pylock.write(cap / "pylock.toml", env)
    (cap / "numerics.toml").write_text(NUMERICS)
    write_repro(cap)
    assert check_json(cli, cap) == {}
    newer = replace(env, packages=(*env.packages, Package("torch", "2.8.0", source="index")))
    pylock.write(cap / "pylock.toml", newer)
    found = check_json(cli, cap)
    assert set(found) == {"repro.other-lock"}
    assert found["repro.other-lock"]["severity"] == "info"
    assert (
        "the recorded verdict came from another environment" in found["repro.other-lock"]["message"]
    )
    assert found["repro.other-lock"]["remedy"].startswith("record the verdict again: envsnap repro")
    write_repro(cap, numerics_digest="sha256:" + "9" * 64)
    found = check_json(cli, cap)
    assert set(found) == {"repro.other-numerics"}
    assert "whose numerics differ" in found["repro.other-numerics"]["message"]
    (cap / "repro.toml").write_text("version = 1\n")
    unreadable = check_json(cli, cap)
    assert unreadable["repro.unreadable"]["severity"] == "warning"
