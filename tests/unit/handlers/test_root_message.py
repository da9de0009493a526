"""A run's root message found again after a restart that lost where it was posted."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from handlers.notifier import SlackNotifier
from sandbox.slack import SlackWorkspace
from tests.unit.handlers.samples import RUN


def roots(ws: SlackWorkspace) -> list[str]:
    return [m.ts for m in ws.messages if m.thread_ts is None]


async def test_a_restart_between_posting_the_checklist_and_storing_it_updates_the_same_message() -> None:
    ws = SlackWorkspace()
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
