"""A run's root message found again after a restart that lost where it was posted; and when the
channel's history cannot be read for any reason, none is found, so that a new root is posted and no
reply is lost (against the simulated Slack Web API)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import RunState, RunView
from handlers.notifier import SlackNotifier
from handlers.root_message import find_root, root_metadata
from sandbox.slack import SlackWorkspace
from tests.unit.handlers.samples import RUN


def roots(ws: SlackWorkspace) -> list[str]:
    return [m.ts for m in ws.messages if m.thread_ts is None]


async def test_a_restart_between_posting_the_checklist_and_storing_it_updates_the_same_message() -> None:
    ws = SlackWorkspace()
    ws.add_user("UALICE", "alice")  # the checklist names her: the notifier asks Slack her name
    await ws.start()
    try:
        client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
        run = dataclasses.replace(RUN, notifier_ref={}, channel=ws.channel_id)
        first = SlackNotifier(client, channel=ws.channel_id, min_update_interval=0.0, post_interval=0.0)
        posted = await first.run_changed(run)
        assert posted is not None and roots(ws) == [posted["ts"]]
        # The process dies before the engine stored `posted`; the next one starts from the run as stored.
        again = SlackNotifier(client, channel=ws.channel_id, min_update_interval=0.0, post_interval=0.0)
        ref = await again.run_changed(run)
        await again.flush()
        assert ref == posted and roots(ws) == [posted["ts"]], "no second checklist"
        assert ws.find_message(ws.channel_id, posted["ts"]).updates == 1  # type: ignore[union-attr]
        # Another database's run #1 (opened at another time) is not this message.
        other = dataclasses.replace(run, opened_at=run.opened_at + timedelta(days=3))
        fresh = SlackNotifier(client, channel=ws.channel_id, min_update_interval=0.0, post_interval=0.0)
        mine = await fresh.run_changed(other)
        assert mine is not None and mine["ts"] != posted["ts"] and len(roots(ws)) == 2
    finally:
        await ws.stop()
    assert ws.rejections == []


LOOKED_FOR = RunView(7, RunState.ACTIVE, datetime(2026, 12, 4, 2, 0, tzinfo=UTC), "UALICE", None, {}, ())


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    await workspace.start()
    yield workspace
    await workspace.stop()


async def test_the_root_is_found_by_its_metadata(ws: SlackWorkspace) -> None:
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
    posted = await client.chat_postMessage(
        channel=ws.channel_id, text="run #7", metadata=root_metadata(LOOKED_FOR)
    )
    assert await find_root(client, ws.channel_id, LOOKED_FOR) == posted["ts"]


@pytest.mark.parametrize("fault", ["drop", 502])
async def test_a_history_that_cannot_be_read_means_a_new_root(ws: SlackWorkspace, fault: int | str) -> None:
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)  # slack_sdk's default retries
    ws.fail_next("conversations.history", *[fault] * 5)
    assert await find_root(client, ws.channel_id, LOOKED_FOR) is None
