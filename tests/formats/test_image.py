"""image.toml: what rebuild built, written deterministically and read back with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.formats.image import HEADER, ImageRecord, load, render, split_digest, write

RECORD = ImageRecord(
    image_id="sha256:" + "a" * 64,
    base_image="python:3.11.7-slim-bookworm",
    base_digest="python@sha256:" + "b" * 64,
    tag="team/job:1",
    lock_digest="sha256:" + "c" * 64,
)


def test_round_trip_and_exact_text(tmp_path: Path) -> None:
    path = write(tmp_path / "image.toml", RECORD)
    assert load(path) == RECORD
    assert path.read_text() == (
        f"{HEADER}\n\n"
        "schema-version = 1\n"
        f'image-id = "sha256:{"a" * 64}"\n'
        'base-image = "python:3.11.7-slim-bookworm"\n'
        f'base-digest = "python@sha256:{"b" * 64}"\n'
        'tag = "team/job:1"\n'
        f'lock-digest = "sha256:{"c" * 64}"\n'
    )
    assert render(RECORD) == render(load(path))


def test_empty_fields_are_left_out(tmp_path: Path) -> None:
    minimal = ImageRecord(image_id="sha256:" + "d" * 64, base_image="python:3.12.1-slim-bookworm")
    path = write(tmp_path / "image.toml", minimal)
    assert "tag" not in path.read_text()
    assert load(path) == minimal


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema-version = 2\nimage-id = 'x'\nbase-image = 'y'\n", "newer than this envsnap"),
        ("image-id = 'x'\n", "schema-version"),
        ("schema-version = 1\nbase-image = 'y'\n", "image-id: missing"),
        ("schema-version = 1\nimage-id = 3\nbase-image = 'y'\n", "image-id: expected a string"),
        ("schema-version = [\n", "not valid TOML"),
        (
            "schema-version = 1\nimage-id = 'x'\nbase-image = 'y'\nbase-digest = 'latest'\n",
            "base-digest: expected repo@sha256",
        ),
        (
            "schema-version = 1\nimage-id = 'x'\nbase-image = 'y'\nbase-digest = 'p@sha256:1'\n",
            "base-digest: expected repo@sha256",
        ),
        (
            "schema-version = 1\nimage-id = 'x'\nbase-image = 'y'\nbase-image-id = 'abc'\n",
            "base-image-id: expected sha256",
        ),
        ("\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_files_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "image.toml"
    path.write_bytes(text.encode("latin-1"))  # "\xff" stays a byte that is not UTF-8
    with pytest.raises(InputError, match=message) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_local_base_records_its_image_id(tmp_path: Path) -> None:
    local = ImageRecord(
        image_id="sha256:" + "a" * 64,
        base_image="python:3.11.7-slim-bookworm",
        base_image_id="sha256:" + "e" * 64,
    )
    path = write(tmp_path / "image.toml", local)
    assert f'base-image-id = "sha256:{"e" * 64}"\n' in path.read_text()
    assert load(path) == local


def test_an_older_file_with_the_local_id_as_digest_reads_it_as_the_id(tmp_path: Path) -> None:
    path = tmp_path / "image.toml"
    path.write_text(
        f"schema-version = 1\nimage-id = 'x'\nbase-image = 'y'\nbase-digest = 'sha256:{'e' * 64}'\n"
    )
    record = load(path)
    assert (record.base_digest, record.base_image_id) == ("", "sha256:" + "e" * 64)


def test_split_digest() -> None:
    assert split_digest("localhost:5000/py@sha256:" + "b" * 64) == (
        "localhost:5000/py",
        "sha256:" + "b" * 64,
    )
    assert split_digest("sha256:" + "b" * 64) is None
    assert split_digest("") is None
