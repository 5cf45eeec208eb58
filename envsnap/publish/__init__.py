"""Publishing a capture: the reproducibility report (`report`), written from its facts.

`facts.gather` reads the capture; `markdown` renders and updates the report file. The tracker
integrations (`envsnap.mlflow`, `envsnap.wandb`, `envsnap.aim`, optional extras) log the same
facts through `envsnap.trackers.view`; pushing an image is `envsnap rebuild --push`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._record import Record, record

__all__ = ["ReportResult", "write_report"]

_MAX_REPORT = 16 << 20  # a README-sized file; a larger one is not a report to update


@record
class ReportResult(Record):
    """What `write_report` did: the facts, the Markdown, and the file (empty: not written)."""

    facts: dict[str, Any]
    markdown: str
    path: str = ""
    created: bool = False


def _relative(capture: Path, report_dir: Path) -> str:
    """The capture folder as a link prefix from the report's folder (``""`` when the same)."""
    rel = Path(os.path.relpath(capture.resolve(), report_dir.resolve())).as_posix()
    return "" if rel == "." else rel + "/"


def write_report(
    directory: str | os.PathLike[str],
    output: str | os.PathLike[str] | None,
    *,
    verify: bool = False,
) -> ReportResult:
    """Fill the report's sections from the capture in *directory*.

    *output* None renders only (links relative to the working directory); otherwise the file is
    created from the template, or its generated sections are replaced in place. With *verify*,
    the pushed image image.toml records is looked up in its registry by digest (`verify`): only
    then is its box ticked.
    """
    from .._io import read_bytes_bounded, refuse_link, write_atomic
    from ..errors import InputError
    from . import facts, markdown

    data = facts.gather(directory)
    image = data["environment"]["image"]
    if verify and image and image["pushed_digest"]:
        from .verify import manifest

        found = manifest(image["pushed_digest"])
        image.update(verified=found.ok, verify_error=found.reason)
    target = Path(output) if output is not None else None
    where = target.parent if target is not None else Path.cwd()
    sections = markdown.render_sections(data, _relative(Path(directory), where))
    if target is None:
        return ReportResult(facts=data, markdown=markdown.new_report(sections))
    refuse_link(target, "the report")  # never written through, nor read
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give the report's file name")
    old: str | None = None
    if target.exists():  # a FIFO or device is refused, never read
        raw = read_bytes_bounded(target, what="existing report", limit=_MAX_REPORT)
        try:
            old = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{target}: cannot read the existing report ({exc})") from None
    text = (
        markdown.new_report(sections)
        if old is None
        else markdown.update(old, sections, str(target))
    )
    if text != old:
        try:  # its mode kept; everything outside our sections byte for byte
            write_atomic(target, text)
        except OSError as exc:  # /proc/x.md, a read-only or full disk: bad output path, exit 2
            raise InputError(f"{target}: cannot write the report ({exc.strerror})") from None
    return ReportResult(facts=data, markdown=text, path=str(target), created=old is None)
