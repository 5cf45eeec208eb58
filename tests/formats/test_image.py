"""image.toml: what rebuild built, written deterministically and read back with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.formats.image import HEADER, ImageRecord, load, render, write

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
    ],
)
def test_bad_files_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "image.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")
