"""Rate limits, and failures of Slack's own (5xx answers, dropped connections), off unless a test
asks for them.

`Tiers` models Slack's published limits (https://api.slack.com/docs/rate-limits, "Rate Limits"):
they apply "per API method per app per workspace", each method in a tier of requests per minute,
Tier 1 "1+", Tier 2 "20+", Tier 3 "50+", Tier 4 "100+" (the documented floor is what is enforced
here, in a sliding minute, so a burst of up to that many calls passes). `chat.postMessage` is of
the "special" tier: "generally allows posting one message per second per channel", with "short
bursts >1 allowed"; here a bucket of `POST_BURST` per channel, refilled at one a second. Over a
limit, Slack answers HTTP 429 `Too Many Requests` with `Retry-After` (whole seconds to wait) and
`{"ok": false, "error": "ratelimited"}`; so does the simulator (slack_sdk's
`AsyncRateLimitErrorRetryHandler` reads the header as an integer of seconds).

The tiers of the methods regclean calls, as each method's page states them under "Rate limits"
(https://api.slack.com/methods/<method>): `chat.update` Tier 3, `chat.postEphemeral` Tier 4,
`conversations.history` Tier 3 (an internal app is not held to the 2025 limits of non-Marketplace
apps), `users.info` Tier 4, `usergroups.list` and `usergroups.users.list` Tier 2,
`files.getUploadURLExternal` and `files.completeUploadExternal` Tier 4, `apps.connections.open`
Tier 1. `auth.test` and `chat.getPermalink` say "Special rate limits apply" without a number, and
Slack publishes none for `chat.postMessage`'s workspace-wide limit: those are not limited here.

Time is a clock the caller gives (seconds, as `time.monotonic`), so a test moves it by hand, or
runs the workspace and the bot on `FastTime`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Seconds = Callable[[], float]
"""A monotonic clock in seconds."""

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "conversations.history": 3,
    "users.info": 4,
    "usergroups.list": 2,
    "usergroups.users.list": 2,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "apps.connections.open": 1,
}
POST_METHOD = "chat.postMessage"
POST_BURST = 4
"""Messages a channel takes at once before Slack holds chat.postMessage to one a second."""


class RateLimiter:
    """A sliding one-second window per Web API method (a test's own limit, on the machine's clock)."""

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


class Tiers:
    """Slack's per-method, per-minute tiers, and chat.postMessage's per-channel pace (see above)."""

    def __init__(self, clock: Seconds = time.monotonic) -> None:
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        """method → when the calls of the last minute were taken"""
        self._buckets: dict[str, tuple[float, float]] = {}
        """channel → (tokens, when counted) of chat.postMessage"""

    def retry_after(self, method: str, channel: str | None = None) -> int | None:
        """Count a call of method (to channel); the seconds Slack would ask to wait when it is over
        the limit (an over-limit call is not counted)."""
        now = self._clock()
        if method == POST_METHOD:
            return self._post(channel or "", now)
        tier = METHOD_TIERS.get(method)
        if tier is None:
            return None
        calls = self._calls.setdefault(method, deque())
        while calls and now - calls[0] >= 60.0:
            calls.popleft()
        if len(calls) >= TIER_PER_MINUTE[tier]:
            return max(1, math.ceil(calls[0] + 60.0 - now))
        calls.append(now)
        return None

    def _post(self, channel: str, now: float) -> int | None:
        tokens, since = self._buckets.get(channel, (float(POST_BURST), now))
        tokens = min(float(POST_BURST), tokens + (now - since))  # one message a second comes back
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            return max(1, math.ceil(1.0 - tokens))
        self._buckets[channel] = (tokens - 1.0, now)
        return None


class FastTime:
    """A monotonic clock that runs `speed` times faster than the machine's, with a `sleep` on it.

    Give it to the workspace (`SlackWorkspace.strict(clock=...)`) and to the bot (`bot.app.build`'s
    `slack_time`): a `Retry-After: 60` then costs the bot a fraction of a real second, and both
    sides agree on how much time went by.
    """

    def __init__(self, speed: float = 50.0) -> None:
        if speed <= 0:
            raise ValueError(f"FastTime needs a positive speed, not {speed}")
        self.speed = speed
        self._start = time.monotonic()

    def __call__(self) -> float:
        """Simulated seconds since this clock was made."""
        return (time.monotonic() - self._start) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)


Fault = int | str
"""An HTTP status Slack's front end answers with (500, 502, 503, 504), `drop`: the connection is
closed before any answer, as a load balancer does when a backend goes away; or 429: a limit this
module cannot compute (the workspace-wide one of chat.postMessage, the "special" tiers) was reached,
answered as every 429 is, with `Retry-After: FAULT_RETRY_AFTER`."""
FAULT_RETRY_AFTER = 30


@dataclass
class _Burst:
    fault: Fault
    every: int
    left: int
    seen: int = 0


class Faults:
    """Failures of a method's calls: the next ones, in order, each used once; and bursts (every Nth
    call fails, so many times)."""

    def __init__(self) -> None:
        self._next: dict[str, deque[Fault]] = {}
        self._bursts: dict[str, list[_Burst]] = {}

    def add(self, method: str, *faults: Fault) -> None:
        """Answer the next calls of method with these failures, one per call."""
        for fault in faults:
            _check(fault)
        self._next.setdefault(method, deque()).extend(faults)

    def burst(self, method: str, fault: Fault, *, every: int, times: int) -> None:
        """From now on, every `every`-th call of method fails with fault, `times` times in all."""
        _check(fault)
        if every < 1 or times < 1:
            raise ValueError(f"a burst needs every >= 1 and times >= 1, not every={every}, times={times}")
        self._bursts.setdefault(method, []).append(_Burst(fault, every, times))

    def clear(self, method: str) -> None:
        """No more failures of method (what is queued and every burst)."""
        self._next.pop(method, None)
        self._bursts.pop(method, None)

    def take(self, method: str) -> Fault | None:
        """The failure this call of method gets, if any."""
        pending = self._next.get(method)
        if pending:
            return pending.popleft()
        found: Fault | None = None
        for burst in self._bursts.get(method, []):
            burst.seen += 1
            if found is None and burst.left and burst.seen % burst.every == 0:
                burst.left -= 1
                found = burst.fault
        return found


def _check(fault: Fault) -> None:
    if fault not in ("drop", 429) and not (isinstance(fault, int) and 500 <= fault <= 599):
        raise ValueError(f"a fault is a 5xx status, 429 or 'drop', not {fault!r}")
