"""Per-method rate limits, off unless a test asks for them."""

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
