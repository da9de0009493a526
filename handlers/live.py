"""Slack messages that are posted once and then kept up to date, and paced thread posts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.blocks.tables import Block

log = logging.getLogger(__name__)
Clock = Callable[[], float]
"""Monotonic seconds. A clock with a `sleep(seconds)` of its own (a simulated one, as the sandbox's
`FastTime`) has every wait of this module, and of the Web API client's retries
(handlers/slack_retry.py), made on its time."""
Sleep = Callable[[float], Awaitable[None]]

PASSING = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
"""Slack errors that say "not now" rather than "never" (as slack_sdk's retry handlers read them)."""
MAX_BACKOFF = 30.0
"""Seconds between tries of an update Slack keeps refusing for a passing reason."""


def sleeper(clock: Clock) -> Sleep:
    """How to wait on `clock`'s time: its own `sleep` if it has one, else the event loop's."""
    sleep = getattr(clock, "sleep", None)
    return sleep if callable(sleep) else asyncio.sleep


class Pacer:
    """Spaces the bot's posts to a channel (Slack takes about one message a second)."""

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleeper(clock)
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        """Return when `channel` may take another message."""
        async with self._locks.setdefault(channel, asyncio.Lock()):
            wait = self._last.get(channel, float("-inf")) + self._interval - self._clock()
            if wait > 0:
                await self._sleep(wait)  # a rate limit, not synchronisation
            self._last[channel] = self._clock()


class LiveMessage:
    """A message shown once, then updated in place with the newest content at most every `interval` s.

    One update is in flight per message at any time: content shown while an update waits for its
    turn (or for Slack's `Retry-After`) replaces what that next update will send, so the message
    never goes back to older content and retries never pile up. An update Slack could not take for
    a passing reason (rate limit, a 5xx, a dropped connection, after the client's own retries) is
    tried again until it lands; one it refuses for good (the message is gone, the blocks are
    invalid) is logged and given up, and the next content shown tries again.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        interval: float = 1.0,
        pacer: Pacer | None = None,
        clock: Clock = time.monotonic,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.channel = channel
        self.ts = ts
        self._metadata = metadata
        """Slack message metadata for the first post (how the message is found again)"""
        self._client = client
        self._thread_ts = thread_ts
        self._interval = interval
        self._pacer = pacer
        self._clock = clock
        self._sleep = sleeper(clock)
        self._latest: tuple[str, list[Block]] | None = None
        self._version = 0
        """how many times content was shown"""
        self._sent = 0
        """the version the message shows in Slack (or that was given up)"""
        self._last_sent = float("-inf")
        self._sender: asyncio.Task[None] | None = None
        """the one task that updates the message, while there is newer content than Slack shows"""
        self._lock = asyncio.Lock()

    async def show(self, text: str, blocks: list[Block]) -> None:
        """Post the message the first time; afterwards have the newest content sent, in turn."""
        self._latest = (text, blocks)
        self._version += 1
        async with self._lock:
            if self.ts is None:
                if self._pacer is not None:
                    await self._pacer.wait(self.channel)
                posted = await self._client.chat_postMessage(
                    channel=self.channel,
                    thread_ts=self._thread_ts,
                    text=text,
                    blocks=blocks,
                    metadata=self._metadata,
                )
                self.channel, self.ts = posted["channel"], posted["ts"]
                self._last_sent = self._clock()
                self._sent = self._version
                return
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_newest())

    async def flush(self) -> None:
        """Wait until the newest content shown has been delivered (or given up)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.gather(self._sender, return_exceptions=True)

    async def _send_newest(self) -> None:
        failures = 0
        while self._sent < self._version:
            delay = max(0.0, self._last_sent + self._interval - self._clock())
            if failures:
                delay = max(delay, min(2.0**failures, MAX_BACKOFF))
            if delay:
                await self._sleep(delay)  # chat.update at most about once a second per message
            assert self._latest is not None and self.ts is not None
            version, (text, blocks) = self._version, self._latest
            self._last_sent = self._clock()
            try:
                await self._client.chat_update(channel=self.channel, ts=self.ts, text=text, blocks=blocks)
            except SlackApiError as exc:
                status, error = exc.response.status_code, str(exc.response.get("error") or "")
                if status < 500 and status != 429 and error not in PASSING:
                    log.warning("cannot update message %s: %s; giving this content up", self.ts, error)
                    self._sent = version
                    continue
                failures += 1
                log.warning(
                    "message %s not updated yet (%s); trying again", self.ts, error or f"HTTP {status}"
                )
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures += 1
                log.warning("message %s not updated yet (%s); trying again", self.ts, type(exc).__name__)
                continue
            failures = 0
            self._sent = version
