"""A clock that tests and the demo set and move by hand (the sandbox's implementation of `bot.core.clock.Clock`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Stands still until a test moves it; never goes back unless told to with `set`."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def now(self) -> datetime:
        """The time the test set, in UTC."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (aware)."""
        if moment.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward; use set() to go back")
        self._now += delta
        return self._now
