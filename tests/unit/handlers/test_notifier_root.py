"""No thread reply is lost because the run's root message could not be posted: the reply posts the
root first, or waits for it (against the simulated Slack Web API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import RunState, RunView, StepState, StepView
from bot.core.notifier import Requester
from handlers.notifier import SlackNotifier
from sandbox.slack import SlackWorkspace

OPENED = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    workspace.add_user("UALICE", "alice")
    await workspace.start()
    yield workspace
    await workspace.stop()


def failed_run(ws: SlackWorkspace) -> tuple[RunView, StepView]:
    step = StepView(
        3, 7, "backup", StepState.FAILED, "UALICE", OPENED, OPENED, None, "node 10.0.0.1 unreachable"
    )
    return RunView(7, RunState.ACTIVE, OPENED, "UALICE", ws.channel_id, {}, (step,)), step


def replies(ws: SlackWorkspace) -> list[str]:
    roots = [m for m in ws.messages if m.thread_ts is None]
    return [m.text for root in roots for m in ws.thread(root.ts)]


async def test_a_reply_posts_the_root_that_could_not_be_posted_before(ws: SlackWorkspace) -> None:
    notifier = SlackNotifier(AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), post_interval=0)
    run, step = failed_run(ws)
    ws.fail_next("chat.postMessage", 503)
    with pytest.raises(SlackApiError):
        await notifier.run_changed(run)
    await notifier.step_failed(run, step, Requester("UALICE", ws.channel_id))
    assert any("backup failed: node 10.0.0.1 unreachable" in text for text in replies(ws))


async def test_a_reply_waits_for_the_root_and_is_posted_with_it(ws: SlackWorkspace) -> None:
    notifier = SlackNotifier(AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), post_interval=0)
    run, step = failed_run(ws)
    ws.fail_next("chat.postMessage", 503, 503)
    with pytest.raises(SlackApiError):
        await notifier.run_changed(run)
    await notifier.step_failed(run, step, Requester("UALICE", ws.channel_id))
    assert [m for m in ws.messages if m.thread_ts is None] == [], "Slack took nothing yet"
    await notifier.run_changed(run)
    assert any("backup failed: node 10.0.0.1 unreachable" in text for text in replies(ws))
