"""Finding a run's root message again: found by its metadata, and when the channel's history cannot
be read for any reason, None, so that a new root is posted and no reply is lost (against the
simulated Slack Web API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import RunState, RunView
from handlers.root_message import find_root, root_metadata
from sandbox.slack import SlackWorkspace

RUN = RunView(7, RunState.ACTIVE, datetime(2026, 12, 4, 2, 0, tzinfo=UTC), "UALICE", None, {}, ())


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    await workspace.start()
    yield workspace
    await workspace.stop()


async def test_the_root_is_found_by_its_metadata(ws: SlackWorkspace) -> None:
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
    posted = await client.chat_postMessage(channel=ws.channel_id, text="run #7", metadata=root_metadata(RUN))
    assert await find_root(client, ws.channel_id, RUN) == posted["ts"]


@pytest.mark.parametrize("fault", ["drop", 502])
async def test_a_history_that_cannot_be_read_means_a_new_root(ws: SlackWorkspace, fault: int | str) -> None:
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)  # slack_sdk's default retries
    ws.fail_next("conversations.history", *[fault] * 5)
    assert await find_root(client, ws.channel_id, RUN) is None
