"""The simulator holds the bot to Slack's published rate limits when a test makes it strict, and
injects bursts of Slack's own failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.slack import SlackWorkspace
from sandbox.slack.ratelimit import POST_BURST, Faults, Tiers


class HandClock:
    """Seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    workspace.add_channel("C0OTHER", "other")
    await workspace.start()
    yield workspace
    await workspace.stop()


async def call(ws: SlackWorkspace, method: str, **params: Any) -> tuple[int, str | None, dict[str, Any]]:
    """A raw Web API call: status, Retry-After and the JSON body."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            ws.api_url + method, json=params, headers={"Authorization": f"Bearer {ws.bot_token}"}
        ) as r,
    ):
        return r.status, r.headers.get("Retry-After"), await r.json()


def test_a_tier_3_method_takes_50_calls_a_minute_and_says_when_the_oldest_leaves_the_window() -> None:
    clock = HandClock()
    tiers = Tiers(clock)
    for second in range(50):
        clock.now = float(second)
        assert tiers.retry_after("chat.update") is None
    clock.now = 50.0
    assert tiers.retry_after("chat.update") == 10  # the call at 0 s leaves the minute at 60 s
    assert tiers.retry_after("conversations.history") is None, "each method has its own window"
    clock.now = 59.5
    assert tiers.retry_after("chat.update") == 1
    clock.now = 60.0
    assert tiers.retry_after("chat.update") is None
    assert tiers.retry_after("auth.test") is None, "no published number: not limited"


def test_tiers_2_and_4_and_unknown_methods() -> None:
    clock = HandClock()
    tiers = Tiers(clock)
    assert [tiers.retry_after("usergroups.users.list") for _ in range(21)][-2:] == [None, 60]
    assert [tiers.retry_after("users.info") for _ in range(101)][-2:] == [None, 60]


def test_posts_come_in_a_short_burst_then_one_a_second_per_channel() -> None:
    clock = HandClock()
    tiers = Tiers(clock)
    assert [tiers.retry_after("chat.postMessage", "C1") for _ in range(POST_BURST)] == [None] * POST_BURST
    assert tiers.retry_after("chat.postMessage", "C1") == 1
    assert tiers.retry_after("chat.postMessage", "C2") is None, "another channel has its own pace"
    clock.now = 1.0
    assert tiers.retry_after("chat.postMessage", "C1") is None
    assert tiers.retry_after("chat.postMessage", "C1") == 1
    clock.now = 1.5
    assert tiers.retry_after("chat.postMessage", "C1") == 1


def test_a_burst_of_faults_hits_every_nth_call_so_many_times() -> None:
    faults = Faults()
    faults.burst("chat.update", 503, every=3, times=2)
    faults.add("chat.update", "drop")
    taken = [faults.take("chat.update") for _ in range(10)]
    assert taken == ["drop", None, None, 503, None, None, 503, None, None, None]
    with pytest.raises(ValueError, match="5xx status, 429 or 'drop'"):
        faults.burst("chat.update", 404, every=1, times=1)
    faults.burst("chat.update", "drop", every=1, times=100)
    faults.clear("chat.update")
    assert faults.take("chat.update") is None


async def test_strict_answers_429_ratelimited_with_retry_after_in_seconds(ws: SlackWorkspace) -> None:
    clock = HandClock()
    ws.strict(clock)
    for _ in range(POST_BURST):
        status, _, body = await call(ws, "chat.postMessage", channel=ws.channel_id, text="hi")
        assert (status, body["ok"]) == (200, True)
    status, retry_after, body = await call(ws, "chat.postMessage", channel="#platform-ops", text="too soon")
    assert (status, retry_after, body) == (429, "1", {"ok": False, "error": "ratelimited"})
    assert (await call(ws, "chat.postMessage", channel="C0OTHER", text="elsewhere"))[0] == 200
    clock.now = 1.0
    assert (await call(ws, "chat.postMessage", channel=ws.channel_id, text="later"))[0] == 200
    assert [m.text for m in ws.messages] == ["hi"] * POST_BURST + ["elsewhere", "later"]
    assert [r.error for r in ws.rejections] == ["ratelimited"]


async def test_without_strict_nothing_is_limited(ws: SlackWorkspace) -> None:
    for _ in range(60):
        status, _, _ = await call(ws, "chat.postMessage", channel=ws.channel_id, text="hi")
        assert status == 200
    assert ws.rejections == []


async def test_every_nth_call_fails_over_http(ws: SlackWorkspace) -> None:
    ws.fail_every("chat.postMessage", 502, every=2, times=1)
    statuses = [(await call_status(ws)) for _ in range(4)]
    assert statuses == [200, 502, 200, 200]


async def test_an_injected_429_is_answered_as_slack_answers_a_limit(ws: SlackWorkspace) -> None:
    ws.fail_next("chat.update", 429)
    status, retry_after, body = await call(ws, "chat.update", channel=ws.channel_id, ts="1.2", text="x")
    assert (status, retry_after, body) == (429, "30", {"ok": False, "error": "ratelimited"})


async def call_status(ws: SlackWorkspace) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            ws.api_url + "chat.postMessage",
            json={"channel": ws.channel_id, "text": "x"},
            headers={"Authorization": f"Bearer {ws.bot_token}"},
        ) as r,
    ):
        return r.status
