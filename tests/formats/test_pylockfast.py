from __future__ import annotations

import pytest

from envsnap.formats import _pylockfast


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123456Z"),
        ("2024-01-02T03:04:05+02:00", "2024-01-02T01:04:05Z"),
        ("٢٠٢٤-01-02T03:04:05Z", None),  # non-ASCII digits are not a TOML datetime
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_upload_times_are_written_as_utc_toml_datetimes(given: str | None, written: str) -> None:
    assert _pylockfast._time(given) == written
