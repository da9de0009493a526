"""The Slack Notifier's preflight, approval and purge messages, posted to the sandbox workspace."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import RunView
from bot.steps.approval.model import RequestState
from bot.steps.purge.model import ApprovalNotice
from handlers.blocks.approval import APPROVE
from handlers.blocks.custom_images import EXPORT
from handlers.notifier import SlackNotifier
from sandbox.people import PEOPLE
from sandbox.slack import Message, SlackWorkspace
from tests.scenarios.conftest import text_of
from tests.unit.handlers.samples import GATES, RUN, STEP, buttons, purge_result, record, report, request


@dataclass
class Posted:
    workspace: SlackWorkspace
    notifier: SlackNotifier
    run: RunView
    client: AsyncWebClient

    @property
    def root(self) -> Message:
        return next(m for m in self.workspace.messages if m.ts == self.run.notifier_ref["ts"])

    def thread(self) -> list[Message]:
        return self.workspace.thread(self.root.ts)

    def top_level(self, marker: str) -> list[Message]:
        return [m for m in self.workspace.messages if m.thread_ts is None and marker in text_of(m)]


@pytest.fixture
async def posted() -> AsyncIterator[Posted]:
    ws = SlackWorkspace()
    for user, name in PEOPLE.items():  # the notifier looks up the names of the people it names
        ws.add_user(user, name)
    await ws.start()
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
    notifier = SlackNotifier(client, channel=ws.channel_id, min_update_interval=0.05, post_interval=0.0)
    run = dataclasses.replace(RUN, notifier_ref={}, channel=ws.channel_id)
    ref = await notifier.run_changed(run)
    assert ref is not None
    try:
        yield Posted(ws, notifier, dataclasses.replace(run, notifier_ref=ref), client)
    finally:
        await notifier.flush()
        await ws.stop()
    assert ws.rejections == [], "Slack refused nothing"


async def test_a_request_is_posted_to_the_channel_itself_and_linked_from_the_thread(posted: Posted) -> None:
    ref = await posted.notifier.approval_changed(posted.run, ApprovalNotice(request(), GATES))
    [message] = posted.top_level("Purge request #7")
    assert ref == {"channel": posted.workspace.channel_id, "ts": message.ts}
    assert set(buttons(message.blocks)) >= {APPROVE}
    [link] = [m for m in posted.thread() if "Purge request #7" in m.text]
    assert f"p{message.ts.replace('.', '')}" in link.text, "the thread line links to the request"
    assert "waiting for 2 approvals" in link.text


async def test_updates_of_the_count_are_coalesced_but_the_final_state_is_always_shown(posted: Posted) -> None:
    ref = await posted.notifier.approval_changed(posted.run, ApprovalNotice(request(), GATES))
    for view in (
        request(approvals=("UBOB",)),
        request(approvals=("UBOB", "UCAROL")),
        request(RequestState.APPROVED, ("UBOB", "UCAROL")),
    ):
        assert await posted.notifier.approval_changed(posted.run, ApprovalNotice(view, GATES, ref)) is None
    await posted.notifier.flush()
    [message] = posted.top_level("Purge request #7")
    # named as Slack calls them (users.info: this process never heard from them), not notified
    assert "Approved by *bob* and *carol*" in text_of(message)
    assert "<@UBOB>" not in text_of(message) and "<@UCAROL>" not in text_of(message)
    assert buttons(message.blocks) == {}
    assert 1 <= message.updates < 3, "three changes in quick succession, fewer updates"


async def test_after_a_restart_the_stored_reference_updates_the_same_message(posted: Posted) -> None:
    ref = await posted.notifier.approval_changed(posted.run, ApprovalNotice(request(), GATES))
    restarted = SlackNotifier(posted.client, channel=posted.workspace.channel_id, min_update_interval=0.0)
    expired = ApprovalNotice(request(RequestState.EXPIRED), GATES, ref)
    assert await restarted.approval_changed(posted.run, expired) is None
    await restarted.flush()
    [message] = posted.top_level("Purge request #7")
    assert "Expired at" in text_of(message)


async def test_the_preflight_goes_to_the_thread_with_the_export_button(posted: Posted) -> None:
    await posted.notifier.preflight_checked(posted.run, STEP, report())
    [message] = [m for m in posted.thread() if "Preflight — run #1" in text_of(m)]
    assert EXPORT in buttons(message.blocks)
    assert posted.workspace.files == [], "two custom images fit the message"


async def test_custom_images_that_do_not_fit_are_uploaded_as_a_file(posted: Posted) -> None:
    custom = tuple(f"team/image-{i:05d}" for i in range(5000))
    await posted.notifier.preflight_checked(posted.run, STEP, report(record(custom=custom)))
    [upload] = posted.workspace.files
    assert upload.content.decode().splitlines() == [f"{tag}  ← unused" for tag in custom]
    assert upload.thread_ts == posted.root.ts


async def test_the_purge_result_goes_to_the_thread(posted: Posted) -> None:
    await posted.notifier.purge_finished(posted.run, STEP, purge_result())
    [message] = [m for m in posted.thread() if "Purge of the registry bucket" in text_of(m)]
    assert "*Empty* yes" in text_of(message)
