"""The clock the bot reads, and the one the tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.clock import Clock, SystemClock
from sandbox.clock import FakeClock

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_the_system_clock_tells_aware_utc_time() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_the_fake_clock_stands_still_until_moved() -> None:
    clock: Clock = FakeClock(START)
    assert clock.now() == clock.now() == START


def test_the_fake_clock_moves_forward_and_jumps_when_told() -> None:
    clock = FakeClock(datetime(2026, 11, 27, 20, 0, tzinfo=timezone(timedelta(hours=8))))
    assert clock.now() == START and clock.now().tzinfo is UTC
    assert clock.advance(timedelta(minutes=15)) == START + timedelta(minutes=15)
    clock.set(START)
    assert clock.now() == START


def test_the_fake_clock_refuses_naive_times_and_going_backwards_by_advance() -> None:
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2026, 11, 27, 12, 0))
    clock = FakeClock(START)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == START
