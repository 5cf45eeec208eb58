"""image.toml's push fields and the image references `rebuild --push` accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap.errors import InputError
from envsnap.formats.image import ImageRecord, load, parse, render, split_reference, write

ID = "sha256:" + "a" * 64
DIGEST = "sha256:" + "b" * 64


def test_pushed_fields_round_trip(tmp_path: Path) -> None:
    record = ImageRecord(
        image_id=ID,
        base_image="python:3.11.7-slim-bookworm",
        pushed="127.0.0.1:5000/team/train:1",
        pushed_digest=f"127.0.0.1:5000/team/train@{DIGEST}",
    )
    path = write(tmp_path / "image.toml", record)
    assert load(path) == record
    text = render(record)
    assert f'pushed-digest = "127.0.0.1:5000/team/train@{DIGEST}"\n' in text
    assert "pushed" not in render(ImageRecord(image_id=ID, base_image="b"))


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('pushed-digest = "team/train:1"', "pushed-digest"),
        ('pushed-digest = "Team/x@sha256:00"', "pushed-digest"),
        ('pushed = "a b"', "pushed"),
        ('pushed = "$(id)"', "pushed"),
    ],
)
def test_bad_push_fields_name_the_field(line: str, field: str) -> None:
    text = f'schema-version = 1\nimage-id = "{ID}"\nbase-image = "b"\n{line}\n'
    with pytest.raises(InputError, match=f"^x.toml: {field}: "):
        parse(text, "x.toml")


@pytest.mark.parametrize(
    ("ref", "split"),
    [
        ("train", ("train", "latest")),
        ("team/train:1", ("team/train", "1")),
        ("127.0.0.1:5000/team/train", ("127.0.0.1:5000/team/train", "latest")),
        ("localhost:5000/a/b:v1.2-rc", ("localhost:5000/a/b", "v1.2-rc")),
        ("ghcr.io/org/img_x:2026.12", ("ghcr.io/org/img_x", "2026.12")),
        ("Team/train", None),
        ("team/train@" + DIGEST, None),
        ("team/train:", None),
        ("a b", None),
        ("team//train", None),
        ("-x", None),
        ("", None),
    ],
)
def test_split_reference(ref: str, split: tuple[str, str] | None) -> None:
    assert split_reference(ref) == split
