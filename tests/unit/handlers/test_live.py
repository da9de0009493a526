"""A live message against the simulated Slack: one update in flight, the newest content last, and
an update Slack refuses for a passing reason delivered all the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from handlers.live import LiveMessage
from sandbox.slack import SlackWorkspace


class CountingClient(AsyncWebClient):
    """The bot's client (the same retry handlers), counting chat.update calls in flight."""

    def __init__(self, ws: SlackWorkspace) -> None:
        super().__init__(
            token=ws.bot_token,
            base_url=ws.api_url,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=3),
                AsyncServerErrorRetryHandler(max_retry_count=3),
                AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            ],
        )
        self.in_flight = 0
        self.most_in_flight = 0
        self.updates = 0

    async def chat_update(self, **kwargs: Any) -> AsyncSlackResponse:
        self.in_flight += 1
        self.updates += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await super().chat_update(**kwargs)
        finally:
            self.in_flight -= 1


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    await workspace.start()
    yield workspace
    await workspace.stop()


def shown(ws: SlackWorkspace, ts: str | None) -> str:
    return next(m.text for m in ws.messages if m.ts == ts)


async def test_under_a_rate_limit_one_update_is_in_flight_and_the_newest_content_lands(
    ws: SlackWorkspace,
) -> None:
    ws.rate_limit("chat.update", 2)  # 429 with Retry-After beyond two a second
    client = CountingClient(ws)
    live = LiveMessage(client, ws.channel_id, interval=0.05)
    for version in range(1, 31):
        await live.show(f"version {version}", [])
        await asyncio.sleep(0.02)  # a step reporting progress this often: the load, not a wait for anything
    await live.flush()
    assert shown(ws, live.ts) == "version 30"
    assert client.most_in_flight == 1
    assert client.updates < 29, "content shown while an update waited was coalesced into the next"


async def test_an_update_slack_fails_for_a_while_still_lands(ws: SlackWorkspace) -> None:
    client = CountingClient(ws)
    live = LiveMessage(client, ws.channel_id, interval=0.0)
    await live.show("first", [])
    ws.fail_next("chat.update", 503, "drop", 503, 500, 503)  # more than the client's own retries
    await live.show("final", [])
    await live.flush()
    assert shown(ws, live.ts) == "final"


async def test_an_update_slack_refuses_for_good_is_given_up(ws: SlackWorkspace) -> None:
    client = CountingClient(ws)
    live = LiveMessage(client, ws.channel_id, ts="1.000000", interval=0.0)  # no such message
    await live.show("lost", [])
    await live.flush()
    assert client.updates == 1
