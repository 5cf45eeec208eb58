"""An image engine that speaks `envsnap.engine.Engine` without a daemon: it reads the context it
is given and answers with the events a real build and push end with."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from envsnap.engine import BuildEvent, Done, Pushed, PushEvent, Step

__all__ = ["IMAGE_ID", "FakeEngine"]

IMAGE_ID = "sha256:" + "a" * 64
BASE_ID = "sha256:" + "b" * 64


class FakeEngine:
    """Records every call (class-wide: rebuild makes its own instance) and builds nothing."""

    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def ready(self) -> None:
        pass

    def build(
        self,
        context_dir: Path,
        *,
        tag: str | None,
        verbose: bool = False,
        no_cache: bool = False,
        network: bool = True,
    ) -> Iterator[BuildEvent]:
        dockerfile = (context_dir / "Dockerfile").read_text(encoding="utf-8")
        call = {"tag": tag, "no_cache": no_cache, "dockerfile": dockerfile, "network": network}
        self.calls.append(("build", call))
        first = next(line for line in dockerfile.splitlines() if line.startswith("FROM "))
        yield Step(1, 1, first)
        yield Done(IMAGE_ID, tag, first.split()[1], BASE_ID)

    def push(self, image: str, repository: str, tag: str) -> Iterator[PushEvent]:
        self.calls.append(("push", {"image": image, "repository": repository, "tag": tag}))
        yield Pushed(repository, tag, "sha256:" + "c" * 64, 1)

    def run(self, image: str, cmd: Sequence[str], **options: Any) -> tuple[int, str]:
        self.calls.append(("run", {"image": image, "cmd": list(cmd)}))
        return 0, ""

    def has_image(self, ref: str) -> bool:
        self.calls.append(("has_image", {"ref": ref}))
        return ref == IMAGE_ID

    def close(self) -> None:
        self.calls.append(("close", {}))
