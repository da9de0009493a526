"""Slack messages that are posted once and then kept up to date, and paced thread posts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.blocks.tables import Block

log = logging.getLogger(__name__)
Clock = Callable[[], float]


class Pacer:
    """Spaces the bot's posts to a channel (Slack takes about one message a second)."""

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        """Return when `channel` may take another message."""
        async with self._locks.setdefault(channel, asyncio.Lock()):
            wait = self._last.get(channel, float("-inf")) + self._interval - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)  # a rate limit, not synchronisation
            self._last[channel] = self._clock()


class LiveMessage:
    """A message shown once, then updated in place with the newest content at most every `interval` s."""

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
        self._latest: tuple[str, list[Block]] | None = None
        self._last_sent = float("-inf")
        self._pending: asyncio.Task[None] | None = None
        """the update that will send the newest content (None once it has started sending)"""
        self._running: set[asyncio.Task[None]] = set()
        """every update not finished yet, also one that is sending (what `flush` waits for)"""
        self._lock = asyncio.Lock()

    async def show(self, text: str, blocks: list[Block]) -> None:
        """Post the message the first time; afterwards schedule an update with this content."""
        self._latest = (text, blocks)
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
                return
        if self._pending is None:
            delay = max(0.0, self._last_sent + self._interval - self._clock())
            self._pending = asyncio.create_task(self._update_after(delay))
            self._running.add(self._pending)
            self._pending.add_done_callback(self._running.discard)

    async def flush(self) -> None:
        """Wait until every update, also one already sending, has been delivered."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _update_after(self, delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)  # chat.update at most about once a second per message
            assert self._latest is not None and self.ts is not None
            text, blocks = self._latest
            self._last_sent = self._clock()
            self._pending = None  # content that arrives from now on needs another update
            await self._client.chat_update(channel=self.channel, ts=self.ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("cannot update message %s: %s", self.ts, exc.response.get("error"))
        except Exception:
            log.exception("cannot update message %s", self.ts)
        finally:
            if self._pending is asyncio.current_task():
                self._pending = None
