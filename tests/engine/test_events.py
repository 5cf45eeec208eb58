"""The classic-builder stream parser, against streams recorded from a real Docker daemon."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap.engine import Cached, Done, Output, Step, StepFailed, parse_stream
from envsnap.engine.events import meaningful
from envsnap.errors import BuildError
from tests.fakes.docker import recorded

DATA = Path(__file__).resolve().parent.parent / "data" / "docker"
IMAGE_ID = "sha256:9b84ef70ec709e5048462a11e76194ba8a0249353708a31dcd4bdcb6c40fae19"


def test_cold_build_yields_steps_output_and_done() -> None:
    events = list(parse_stream(recorded("build-cold.jsonl")))
    assert events == [
        Step(1, 4, "FROM python:3.11.7-slim-bookworm"),
        Step(2, 4, "COPY hello.txt /opt/hello.txt"),
        Step(3, 4, "RUN python3 -c \"print('line one'); print('line two')\" && cat /opt/hello.txt"),
        Output("line one"),
        Output("line two"),
        Output("hello from the context"),
        Step(4, 4, "ENV GREETING=hi"),
        Done(
            image_id=IMAGE_ID,
            tag="envsnap-test/record:1",
            base_image="python:3.11.7-slim-bookworm",
            base_image_id="0298e885b34d",
        ),
    ]


def test_cached_build_reports_each_reused_step() -> None:
    events = list(parse_stream(recorded("build-cached.jsonl")))
    assert [e for e in events if isinstance(e, Cached)] == [Cached(2), Cached(3), Cached(4)]
    assert not [e for e in events if isinstance(e, Output)]
    assert events[-1] == Done(
        IMAGE_ID, "envsnap-test/record:1", "python:3.11.7-slim-bookworm", "0298e885b34d"
    )


def test_chunks_split_anywhere_give_the_same_events() -> None:
    chunks = recorded("build-cold.jsonl")
    text = "".join(str(c["stream"]) for c in chunks if "stream" in c)
    aux = [c for c in chunks if "aux" in c]
    one_char = [{"stream": ch} for ch in text]
    assert list(parse_stream([*one_char, *aux])) == list(parse_stream(chunks))


def test_failing_run_step_names_the_step_and_keeps_the_last_lines() -> None:
    events: list[object] = []
    with pytest.raises(StepFailed) as info:
        events.extend(parse_stream(recorded("build-failing-run.jsonl")))
    err = info.value
    assert err.exit_code == 1
    assert err.step is not None and (err.step.number, err.step.total) == (3, 4)
    assert err.error.endswith("returned a non-zero code: 3")
    # The last 20 lines, stderr included and stripped of the builder's colour codes.
    assert err.tail == (*[f"output line {i}" for i in range(12, 31)], "about to fail")
    assert Output("first step ok") in events
    # One line for the failure; the last lines of output are details, printed as lines.
    assert "\n" not in err.message
    assert err.message.startswith("build failed at step 3/4 (RUN for i in $(seq 1 30);")
    assert err.message.endswith(": the command exited with code 3")
    assert err.details[0] == "last 10 lines of output:"
    assert err.details[1:] == (*[f"  output line {i}" for i in range(22, 31)], "  about to fail")
    assert err.hint is None


def test_pip_retries_are_one_line_and_long_lines_are_cut() -> None:
    retry = "WARNING: Retrying (Retry(total={n}, connect=None)) after connection broken by 'X'"
    tail = (
        "Looking in indexes: https://127.0.0.1:1/simple",
        *[retry.format(n=n) for n in (4, 3, 2, 1, 0)],
        "ERROR: No matching distribution found for x==1" + "!" * 400,
        "ERROR: No matching distribution found for x==1" + "!" * 400,
    )
    shown = meaningful(tail)
    assert shown[:2] == (tail[0], retry.format(n=0))
    assert len(shown) == 3 and len(shown[2]) == 300 and shown[2].endswith("\u2026")


def test_missing_base_image_fails_at_the_from_step_with_a_hint() -> None:
    with pytest.raises(StepFailed) as info:
        list(parse_stream(recorded("build-missing-base.jsonl")))
    err = info.value
    assert err.step == Step(1, 2, "FROM envsnap-test/no-such-base:1.0")
    assert "registry-1.docker.io" in err.error
    assert err.tail == ()
    assert err.hint is not None and "--base-image" in err.hint


def test_stream_without_an_image_is_a_build_error() -> None:
    chunks = recorded("build-cold.jsonl")[:5]
    with pytest.raises(BuildError, match="without an image ID"):
        list(parse_stream(chunks))


def test_final_stage_from_is_the_base_and_options_are_skipped() -> None:
    stream = (
        "Step 1/3 : FROM --platform=linux/amd64 debian:bookworm AS builder\n ---> aaaaaaaaaaaa\n"
        "Step 2/3 : FROM python:3.11.7-slim-bookworm\n ---> bbbbbbbbbbbb\n"
        "Step 3/3 : COPY --from=builder /x /x\n ---> cccccccccccc\n"
        "Successfully built cccccccccccc\n"
    )
    done = list(parse_stream([{"stream": stream}]))[-1]
    assert done == Done("cccccccccccc", None, "python:3.11.7-slim-bookworm", "bbbbbbbbbbbb")
