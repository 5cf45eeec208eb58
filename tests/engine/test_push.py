"""The push stream parser, on the chunks a daemon sends (recorded shapes), and its display."""

from __future__ import annotations

import pytest

from envsnap.engine.push import (
    LayerStatus,
    Pushed,
    PushFailed,
    format_push_event,
    parse_push_stream,
)

DIGEST = "sha256:" + "ab" * 32
REPO = "127.0.0.1:5000/team/train"

# What dockerd 28 sends for `docker push` of a two-layer image (one layer already there).
STREAM = [
    {"status": "The push refers to repository [127.0.0.1:5000/team/train]"},
    {"status": "Preparing", "progressDetail": {}, "id": "5f70bf18a086"},
    {"status": "Preparing", "progressDetail": {}, "id": "c3a5b1e2d4f6"},
    {"status": "Waiting", "progressDetail": {}, "id": "c3a5b1e2d4f6"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "5f70bf18a086"},
    {
        "status": "Pushing",
        "progressDetail": {"current": 512, "total": 2048000},
        "progress": "[>   ]",
        "id": "c3a5b1e2d4f6",
    },
    {
        "status": "Pushing",
        "progressDetail": {"current": 2048000, "total": 2048000},
        "id": "c3a5b1e2d4f6",
    },
    {"status": "Pushed", "progressDetail": {}, "id": "c3a5b1e2d4f6"},
    {"status": f"1: digest: {DIGEST} size: 739"},
    {"progressDetail": {}, "aux": {"Tag": "1", "Digest": DIGEST, "Size": 739}},
]


def test_one_event_per_layer_state_and_the_digest_last() -> None:
    events = list(parse_push_stream(STREAM, REPO, "1"))
    assert events == [
        LayerStatus("5f70bf18a086", "Preparing"),
        LayerStatus("c3a5b1e2d4f6", "Preparing"),
        LayerStatus("c3a5b1e2d4f6", "Waiting"),
        LayerStatus("5f70bf18a086", "Layer already exists"),
        LayerStatus("c3a5b1e2d4f6", "Pushing", 2048000),
        LayerStatus("c3a5b1e2d4f6", "Pushed", 2048000),
        Pushed(REPO, "1", DIGEST, 739),
    ]
    assert events[-1].reference == f"{REPO}@{DIGEST}"  # type: ignore[union-attr]
    shown = [format_push_event(e) for e in events]
    assert [s for s in shown if s] == [
        "      layer 5f70bf18a086: Layer already exists",
        "      layer c3a5b1e2d4f6: Pushed (2.0 MB)",
        f"pushed {REPO}:1 as {REPO}@{DIGEST}",
    ]


def test_the_status_line_digest_is_enough_without_aux() -> None:
    events = list(parse_push_stream(STREAM[:-1], REPO, "1"))
    assert events[-1] == Pushed(REPO, "1", DIGEST, 739)


def test_an_error_chunk_fails_with_the_registry_message_without_credentials() -> None:
    chunks = [
        *STREAM[:3],
        {
            "errorDetail": {"message": "unauthorized: https://bob:hunter2@reg.example/v2/ denied"},
            "error": "unauthorized",
        },
    ]
    with pytest.raises(PushFailed) as err:
        list(parse_push_stream(chunks, REPO, "1"))
    assert "hunter2" not in str(err.value) and "bob" not in str(err.value)
    assert f"docker push {REPO}:1 failed: unauthorized: https://reg.example/v2/" in str(err.value)
    assert err.value.exit_code == 1


def test_a_stream_without_digest_is_a_failure() -> None:
    with pytest.raises(PushFailed, match="without the registry's digest"):
        list(parse_push_stream(STREAM[:8], REPO, "1"))


def test_a_daemon_error_is_shown_through_the_words_door() -> None:
    chunks = [{"errorDetail": {"message": "denied: see https://u:p@h.example/x and\nnext"}}]
    with pytest.raises(PushFailed) as err:
        list(parse_push_stream(chunks, REPO, "1"))
    assert err.value.message.endswith("failed: denied: see https://h.example/x and\\nnext")
