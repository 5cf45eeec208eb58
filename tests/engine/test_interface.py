"""Rebuild reaches the image engine only through `envsnap.engine.get_engine`: registering another
engine in `ENGINES` swaps the backend; every option (no_cache, push) goes through the interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap import engine
from envsnap.formats import image, pylock
from envsnap.model import replace
from envsnap.rebuild import ImageBuilt, rebuild
from tests.fakes import samples
from tests.fakes.engine import IMAGE_ID, FakeEngine


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> type[FakeEngine]:
    monkeypatch.setitem(engine.ENGINES, "docker", "tests.fakes.engine:FakeEngine")
    monkeypatch.setattr(FakeEngine, "calls", [])
    return FakeEngine


def test_get_engine_knows_its_engines() -> None:
    with pytest.raises(KeyError, match="unknown build engine 'nope'; known: docker"):
        engine.get_engine("nope")


def test_rebuild_builds_and_pushes_through_the_interface(
    fake_engine: type[FakeEngine], tmp_path: Path
) -> None:
    capture = tmp_path / "cap"
    pylock.write(capture / "pylock.toml", samples.cpu_env())
    # The sample's files are not served anywhere: pip in the build would download them.
    result = rebuild(
        capture, tag="demo:1", no_cache=True, push="registry.test/demo:1", wheelhouse=False
    )
    kinds = [kind for kind, _ in fake_engine.calls]
    assert kinds == ["build", "push", "close"]  # one engine, checked before the render
    built = fake_engine.calls[0][1]
    assert built["tag"] == "demo:1" and built["no_cache"] is True
    assert built["network"] is True  # pip downloads in the build
    assert isinstance(result, ImageBuilt)
    assert built["dockerfile"] == result.rendered.dockerfile
    assert fake_engine.calls[1][1] == {
        "image": IMAGE_ID,
        "repository": "registry.test/demo",
        "tag": "1",
    }
    assert result.image_id == IMAGE_ID
    assert result.pushed == "registry.test/demo:1"
    assert result.pushed_digest == "registry.test/demo@sha256:" + "c" * 64
    record = image.load(capture / "image.toml")
    assert record is not None and record.image_id == IMAGE_ID
    assert record.pushed_digest == result.pushed_digest


def test_no_cache_defaults_off(fake_engine: type[FakeEngine], tmp_path: Path) -> None:
    capture = tmp_path / "cap"
    pylock.write(capture / "pylock.toml", samples.cpu_env())
    rebuild(capture, tag="demo:2", wheelhouse=False)
    assert fake_engine.calls[0][1]["no_cache"] is False


def test_a_hermetic_build_runs_without_network(
    fake_engine: type[FakeEngine], tmp_path: Path
) -> None:
    capture = tmp_path / "cap"
    pylock.write(capture / "pylock.toml", replace(samples.cpu_env(), packages=()))
    rebuild(capture, tag="demo:3")
    assert fake_engine.calls[0][1]["network"] is False
