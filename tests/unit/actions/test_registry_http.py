"""Reading `Retry-After`, and the waits of the registry's retry policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actions.registry_http import RetryPolicy, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),  # an HTTP-date (IMF-fixdate)
        ("Sunday, 01-Mar-26 12:01:00 GMT", 60.0),  # the obsolete RFC 850 form
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),  # already past: go now
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_the_backoff_doubles_up_to_its_cap_and_retry_after_wins() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, now=lambda: NOW)
    assert [policy.delay(n, None) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(1, "9") == 9.0
    assert policy.delay(2, "garbage") == 1.0
