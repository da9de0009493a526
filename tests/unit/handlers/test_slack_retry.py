"""The Web API client's retries wait on the clock they are given: a Retry-After of a minute is a
minute of that clock, not of the machine's."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from handlers.live import LiveMessage
from handlers.slack_metrics import counted_client
from handlers.slack_retry import on_clock
from sandbox.slack import SlackWorkspace


class HandTime:
    """Seconds that move when someone sleeps on them; every sleep is kept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    await workspace.start()
    yield workspace
    await workspace.stop()


def client(ws: SlackWorkspace, time: HandTime) -> AsyncWebClient:
    handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
    ]
    return AsyncWebClient(
        token=ws.bot_token, base_url=ws.api_url, retry_handlers=on_clock(handlers, time.sleep)
    )


async def test_a_tier_limit_is_waited_out_on_the_given_clock(ws: SlackWorkspace) -> None:
    time = HandTime()
    ws.strict(time)
    slack = client(ws, time)
    posted = await slack.chat_postMessage(channel=ws.channel_id, text="v0")
    for version in range(1, 51):  # chat.update is Tier 3: 50 a minute
        time.now += 0.5
        await slack.chat_update(channel=ws.channel_id, ts=posted["ts"], text=f"v{version}")
    assert time.slept == []
    await slack.chat_update(channel=ws.channel_id, ts=posted["ts"], text="v51")
    [waited] = time.slept
    assert 36 <= waited < 37, "the first update of the minute leaves it 35.5 s later: Retry-After: 36"
    assert ws.messages[0].text == "v51"
    assert [r.error for r in ws.rejections] == ["ratelimited"]


async def test_backoff_after_5xx_and_a_live_messages_pace_are_on_the_given_clock(ws: SlackWorkspace) -> None:
    time = HandTime()
    slack = client(ws, time)
    live = LiveMessage(slack, ws.channel_id, interval=1.0, clock=time)
    await live.show("first", [])
    ws.fail_next("chat.update", 503, "drop")
    await live.show("second", [])
    await live.flush()
    assert ws.messages[0].text == "second"
    assert time.slept[0] == pytest.approx(1.0), "a live message waits its interval on the given clock"
    assert len(time.slept) == 3, "then the client's backoff after the 503 and after the dropped connection"


async def test_a_reply_answered_502_or_504_is_retried_until_it_lands(ws: SlackWorkspace) -> None:
    time = HandTime()
    metrics = Metrics()
    client = counted_client(ws.bot_token, ws.api_url, metrics)
    client.retry_handlers = on_clock(client.retry_handlers, time.sleep)
    ws.fail_next("chat.postMessage", 502, 504, 500)
    posted = await client.chat_postMessage(channel=ws.channel_id, text="purge finished")
    assert posted["ok"]
    assert [m.text for m in ws.messages] == ["purge finished"]
    assert len(time.slept) == 3, "three failures, three waits on the given clock"
    assert (
        metrics.registry.get_sample_value("regclean_slack_api_retries_total", {"reason": "server_error"}) == 3
    )


async def test_retries_leave_the_global_random_state_alone(ws: SlackWorkspace) -> None:
    """The jitter after a 429 and after a 5xx is drawn from a generator of its own: a test generating
    examples from the global one (Hypothesis) never sees it move."""
    time = HandTime()
    ws.strict(time)
    slack = client(ws, time)
    posted = await slack.chat_postMessage(channel=ws.channel_id, text="v0")
    before = random.getstate()
    for version in range(1, 52):  # the 51st update of the minute is answered 429
        await slack.chat_update(channel=ws.channel_id, ts=posted["ts"], text=f"v{version}")
    ws.fail_next("chat.update", 503)
    await slack.chat_update(channel=ws.channel_id, ts=posted["ts"], text="after a 503")
    assert len(time.slept) == 2, "one wait after the 429, one after the 503"
    assert random.getstate() == before
