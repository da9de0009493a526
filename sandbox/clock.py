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


class SettableClock:
    """Runs with the machine's clock, shifted by what a test or the demo set: steps still take the
    time they take, and a maintenance window an hour away can be reached at once."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The machine's time plus the shift, in UTC."""
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        """From now on, the time runs on from `moment` (aware)."""
        if moment.tzinfo is None:
            raise ValueError("SettableClock needs an aware datetime")
        self._offset = moment - datetime.now(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward; use set() to go back")
        self._offset += delta
        return self.now()
