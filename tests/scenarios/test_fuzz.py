"""Fuzzing what comes in from Slack: slash-command text and interaction payloads, signed as Slack
signs them, through the real HTTP app. No request may get a 5xx or leave a traceback in the log,
and the bot answers normally afterwards.

Hypothesis runs in a worker thread and hands each request to the test's event loop, where the bot
and the simulated Slack live.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.blocks.approval import APPROVE, REJECT
from handlers.blocks.preflight import ACK_UNVERIFIED
from sandbox.slack.driver import DriverReply
from sandbox.stack import RunningBot, Sandbox

EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples every run: CI never meets a new one by chance
    suppress_health_check=[HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
USERS = st.sampled_from(["UALICE", "UBOB", "UCAROL", "UMALLORY", "", "U" + "9" * 30])
ACTION = st.fixed_dictionaries(
    {
        "action_id": st.sampled_from([APPROVE, REJECT, ACK_UNVERIFIED]) | st.text(max_size=30),
        "block_id": st.text(max_size=10),
        "value": st.text(max_size=30) | st.integers().map(str),
        "type": st.just("button"),
    },
    optional={"action_ts": st.text(max_size=12)},
)
BLOCK_ACTIONS = st.fixed_dictionaries(
    {
        "type": st.just("block_actions"),
        "user": st.fixed_dictionaries({"id": USERS}, optional={"name": st.text(max_size=10)}),
        "actions": st.lists(ACTION, max_size=2),
    },
    optional={
        "channel": st.fixed_dictionaries({"id": st.text(max_size=12)}),
        "message": JSON,
        "container": JSON,
        "team": JSON,
        "response_url": st.just("http://127.0.0.1:9/nowhere"),
    },
)
PAYLOADS = BLOCK_ACTIONS | st.dictionaries(st.text(max_size=12), JSON, max_size=6)


def errors_with_tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in records if r.exc_info or r.levelno >= logging.ERROR]


async def test_fuzzed_commands_and_payloads_get_no_5xx_and_no_traceback(
    http_bot: RunningBot, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    statuses: list[int] = []

    def send(request: Coroutine[Any, Any, DriverReply]) -> None:
        statuses.append(asyncio.run_coroutine_threadsafe(request, loop).result(timeout=30).status)

    @EXAMPLES
    @given(user=USERS, text=st.text(max_size=300))
    def commands(user: str, text: str) -> None:
        send(http_bot.driver.slash(user or "UALICE", text))

    @EXAMPLES
    @given(payload=PAYLOADS)
    def interactions(payload: dict[str, Any]) -> None:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        send(http_bot.driver.post_raw(body, form, sign=True))

    with caplog.at_level(logging.WARNING):
        await asyncio.to_thread(commands)
        await asyncio.to_thread(interactions)
    assert len(statuses) >= 2 * 100 and max(statuses) < 500, sorted(set(statuses))
    assert errors_with_tracebacks(caplog.records) == []

    reply = await http_bot.driver.slash("UALICE", "help")
    assert reply.status == 200 and reply.body, "and the bot still answers"
