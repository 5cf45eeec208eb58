"""The terminal rendering of build events."""

from __future__ import annotations

import io

from envsnap.engine import Cached, Done, Output, Step, parse_stream
from envsnap.engine.progress import format_event, show
from tests.fakes.docker import recorded

DONE = Done(
    image_id="sha256:9b84ef70ec709e5048462a11e76194ba8a0249353708a31dcd4bdcb6c40fae19",
    tag="envsnap-test/record:1",
    base_image="python:3.11.7-slim-bookworm",
    base_image_id="sha256:0298e885b34d",
    base_digest="sha256:0298e885b34d",
)


def test_format_each_event() -> None:
    assert format_event(Step(2, 9, "RUN  pip\n install x")) == "[2/9] RUN pip install x"
    assert format_event(Cached(2)) == "      (cached)"
    assert format_event(Output("hello")) is None
    assert format_event(Output("hello"), verbose=True) == "      hello"
    assert format_event(DONE) == (
        "built image 9b84ef70ec70 tagged envsnap-test/record:1 (base sha256:0298e885b34d)"
    )


def test_long_step_text_is_shortened() -> None:
    line = format_event(Step(1, 1, "RUN " + "x" * 300))
    assert line is not None and len(line) == len("[1/1] ") + 100 and line.endswith("…")


def test_show_prints_steps_and_returns_done() -> None:
    out = io.StringIO()
    done = show(parse_stream(recorded("build-cold.jsonl")), out)
    assert done is not None and done.tag == "envsnap-test/record:1"
    assert out.getvalue().splitlines()[:4] == [
        "[1/4] FROM python:3.11.7-slim-bookworm",
        "[2/4] COPY hello.txt /opt/hello.txt",
        "[3/4] RUN python3 -c \"print('line one'); print('line two')\" && cat /opt/hello.txt",
        "[4/4] ENV GREETING=hi",
    ]


def test_show_verbose_prints_the_output_and_the_cache_hits() -> None:
    out = io.StringIO()
    show(parse_stream(recorded("build-cold.jsonl")), out, verbose=True)
    assert "      line one\n      line two\n      hello from the context\n" in out.getvalue()
    out = io.StringIO()
    show(parse_stream(recorded("build-cached.jsonl")), out, verbose=True)
    assert out.getvalue().count("      (cached)\n") == 3
