"""Per-method rate limits, and failures of Slack's own (5xx answers, dropped connections), off
unless a test asks for them."""

from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    """A sliding one-second window per Web API method."""

    def __init__(self) -> None:
        self._limits: dict[str, int] = {}
        self._recent: dict[str, deque[float]] = {}

    def limit(self, method: str, per_second: int) -> None:
        """Allow at most per_second calls of method in any one-second window."""
        self._limits[method] = per_second
        self._recent[method] = deque()

    def allow(self, method: str) -> bool:
        """Count a call of method; False when it is over the limit (and then it is not counted)."""
        per_second = self._limits.get(method)
        if per_second is None:
            return True
        now = time.monotonic()
        recent = self._recent[method]
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= per_second:
            return False
        recent.append(now)
        return True


Fault = int | str
"""An HTTP status Slack's front end answers with (500, 502, 503, 504), or `drop`: the connection
is closed before any answer, as a load balancer does when a backend goes away."""


class Faults:
    """The next answers of a method that are failures, in order, each used once."""

    def __init__(self) -> None:
        self._next: dict[str, deque[Fault]] = {}

    def add(self, method: str, *faults: Fault) -> None:
        """Answer the next calls of method with these failures, one per call."""
        for fault in faults:
            if fault != "drop" and not (isinstance(fault, int) and 500 <= fault <= 599):
                raise ValueError(f"a fault is a 5xx status or 'drop', not {fault!r}")
        self._next.setdefault(method, deque()).extend(faults)

    def take(self, method: str) -> Fault | None:
        """The failure this call of method gets, if any."""
        pending = self._next.get(method)
        return pending.popleft() if pending else None
