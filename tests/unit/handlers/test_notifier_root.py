"""What the notifier posts about a failure, against the simulated Slack Web API: no thread reply is
lost because the run's root message could not be posted (the reply posts the root first, or waits
for it), and what the cluster said is shown as text, never as links or mentions."""

from __future__ import annotations

import dataclasses
import json
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


HOSTILE = "<!channel> <!here> <@UBOB> <https://evil.example/approve|Click here to approve the purge> & more"


async def test_a_cluster_string_in_a_failure_or_a_refusal_is_text_in_every_field(ws: SlackWorkspace) -> None:
    notifier = SlackNotifier(AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), post_interval=0)
    run, step = failed_run(ws)
    step = dataclasses.replace(step, error=f"pod image 10.0.0.1/acp/x{HOSTILE}")
    run = dataclasses.replace(run, steps=(step,))
    alice = Requester("UALICE", ws.channel_id)
    await notifier.run_changed(run)
    await notifier.step_failed(run, step, alice)
    await notifier.request_refused(alice, f"no package for artifact {HOSTILE}")
    shown = [m.text for m in ws.messages] + [e.text for e in ws.ephemerals]
    shown += [json.dumps(m.blocks) for m in ws.messages] + [json.dumps(e.blocks) for e in ws.ephemerals]
    leaked = [
        t for t in shown if any(raw in t for raw in ("<!channel>", "<!here>", "<@UBOB>", "<https://evil"))
    ]
    assert leaked == []
    assert any("&lt;!channel&gt;" in e.text for e in ws.ephemerals), "still said, as text"


async def test_a_step_still_running_is_said_once_however_long_it_has_run(ws: SlackWorkspace) -> None:
    """The refusal names how long the step has run, which changes between two askings; the pacing
    goes by what it says (its gist), so someone who keeps asking is told once."""
    notifier = SlackNotifier(AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), post_interval=0)
    alice = Requester("UALICE", ws.channel_id)
    gist = "backup of run #7 is already running"
    for took in ("0s", "1s", "2s"):
        await notifier.request_refused(
            alice, f"The backup step of run #7 is already running (for {took}).", gist
        )
    await notifier.request_refused(alice, "The purge needs two approvals.")
    assert [e.text for e in ws.ephemerals] == [
        ":warning: The backup step of run #7 is already running (for 0s).",
        ":warning: The purge needs two approvals.",
    ]
