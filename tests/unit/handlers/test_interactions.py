"""Button clicks through the real Bolt app, signed as Slack signs them, against a stand-in runbook.

The runbook here is a stand-in that scripts what the core answers; the app, the signing, the
payloads and the response_url are real (the sandbox workspace), so what the clicker sees is what
Slack would show.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.authz import AccessList, AccessPolicy
from bot.core.errors import RunbookError
from bot.core.model import Said
from bot.core.notifier import Requester
from bot.steps.approval.model import Click, Outcome
from handlers import interactions
from handlers.blocks.approval import APPROVE, REJECT
from handlers.blocks.custom_images import EXPORT
from handlers.blocks.preflight import ACK_UNVERIFIED
from handlers.blocks.schedule import PURGE_NOW
from handlers.ephemeral import tell
from handlers.membership import SlackMembership
from sandbox.slack import Ephemeral, SlackDriver, SlackWorkspace

OPERATOR, APPROVER, STRANGER = "UOPAL", "UAPPROVER", "USTRANGER"


@dataclass
class ScriptedRunbook:
    """Answers clicks as scripted, records what it was asked, and can hold a click until released."""

    answer: Click = field(default_factory=lambda: Click(Outcome.COUNTED, "1 of 2 approved.", ("UAPPROVER",)))
    ack_sentence: str = "Acknowledged; the purge may delete these images."
    error: Exception | None = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hold: bool = False

    async def _called(self, *call: Any) -> None:
        self.calls.append(call)
        if self.hold:
            await self.release.wait()
        if self.error is not None:
            raise self.error

    async def approve(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        await self._called("approve", request_id, user, may_approve)
        return self.answer

    async def reject(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        await self._called("reject", request_id, user, may_approve)
        return self.answer

    def start_export(self, requester: Requester) -> None:
        self.calls.append(("start_export", requester.user, requester.channel))

    async def acknowledge_unverified(self, preflight_id: int, user: str) -> Said:
        await self._called("acknowledge_unverified", preflight_id, user)
        return Said(self.ack_sentence + " ({0})", (user,))

    async def purge_now(self, request_id: int, user: str) -> str:
        await self._called("purge_now", request_id, user)
        return "Starting the purge."


@dataclass
class Clicks:
    workspace: SlackWorkspace
    driver: SlackDriver
    runbook: ScriptedRunbook

    async def answer_to(self, user: str) -> Ephemeral:
        """Wait for the private answer to `user` (after the click was acknowledged)."""
        found = await self.workspace.wait_for(
            lambda ws: [e for e in ws.ephemerals if e.user == user and e.source == "response_url"]
        )
        return found[0]


def lazy_listeners() -> list[asyncio.Task[Any]]:
    """The clicks Bolt is still working on after acknowledging them."""
    return [
        t
        for t in asyncio.all_tasks()
        if isinstance(coro := t.get_coro(), types.CoroutineType)
        and "to_runnable_function" in coro.__qualname__
    ]


@pytest.fixture
async def clicks() -> AsyncIterator[Clicks]:
    ws = SlackWorkspace()
    for user in (OPERATOR, APPROVER, STRANGER):
        ws.add_user(user, user.lower())
    await ws.start()
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
    app = AsyncApp(client=client, signing_secret=ws.signing_secret, process_before_response=True)
    runbook = ScriptedRunbook()
    policy = AccessPolicy(AccessList.parse([OPERATOR]), AccessList.parse([APPROVER]), SlackMembership(client))
    interactions.register(app, runbook, policy)  # type: ignore[arg-type]

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", events)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield Clicks(ws, SlackDriver(ws, events_url=f"http://{host}:{port}/slack/events"), runbook)
    finally:
        runbook.release.set()
        await asyncio.gather(*lazy_listeners(), return_exceptions=True)
        await runner.cleanup()
        await ws.stop()


async def test_an_approval_is_acknowledged_before_the_runbook_decides(clicks: Clicks) -> None:
    clicks.runbook.hold = True
    reply = await clicks.driver.click(APPROVER, APPROVE, "7")
    assert reply.status == 200
    await clicks.workspace.wait_for(lambda ws: clicks.runbook.calls)
    assert clicks.workspace.ephemerals == [], "the answer waits for the runbook, the ack did not"
    clicks.runbook.release.set()
    answer = await clicks.answer_to(APPROVER)
    assert clicks.runbook.calls == [("approve", 7, APPROVER, True)]
    assert "Your approval is counted. 1 of 2 approved." in answer.text


async def test_the_approval_that_completes_the_request_says_the_purge_is_starting(clicks: Clicks) -> None:
    clicks.runbook.answer = Click(Outcome.COMPLETED, "2 of 2 approved.", ("UBOB", APPROVER))
    await clicks.driver.click(APPROVER, APPROVE, "7")
    assert "completes the request" in (await clicks.answer_to(APPROVER)).text


@pytest.mark.parametrize("action_id", [APPROVE, REJECT])
async def test_someone_who_is_not_an_approver_is_passed_on_as_such_and_told_why(
    clicks: Clicks, action_id: str
) -> None:
    reason = "Only approvers may approve a purge."
    clicks.runbook.answer = Click(Outcome.REFUSED, reason, ())
    await clicks.driver.click(OPERATOR, action_id, "7")
    answer = await clicks.answer_to(OPERATOR)
    assert clicks.runbook.calls == [(action_id.rsplit("_", 1)[1], 7, OPERATOR, False)]
    assert reason in answer.text


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (Outcome.DUPLICATE, "You have already approved; it counts once."),
        (Outcome.CLOSED, "This request was rejected by <@UCAROL>."),
    ],
)
async def test_duplicate_and_closed_clicks_get_the_reason_privately(
    clicks: Clicks, outcome: Outcome, reason: str
) -> None:
    clicks.runbook.answer = Click(outcome, reason, (APPROVER,))
    await clicks.driver.click(APPROVER, APPROVE, "7")
    answer = await clicks.answer_to(APPROVER)
    assert answer.text == f":warning: {reason.replace('<', '&lt;').replace('>', '&gt;')}"
    assert [m for m in clicks.workspace.messages] == [], "nothing went to the channel"


async def test_a_reject_is_confirmed_to_the_approver(clicks: Clicks) -> None:
    clicks.runbook.answer = Click(Outcome.REJECTED, "You rejected the purge request.", ())
    await clicks.driver.click(APPROVER, REJECT, "7")
    assert "You rejected the purge request" in (await clicks.answer_to(APPROVER)).text
    assert clicks.runbook.calls == [("reject", 7, APPROVER, True)]


@pytest.mark.parametrize("action_id", [APPROVE, REJECT, ACK_UNVERIFIED])
@pytest.mark.parametrize("value", ["seven", "", "-1", "٣", "9" * 40])
async def test_a_malformed_button_value_gets_a_sentence_not_a_stack_trace(
    clicks: Clicks, action_id: str, value: str
) -> None:
    await clicks.driver.click(APPROVER, action_id, value)
    answer = await clicks.answer_to(APPROVER)
    assert answer.text == interactions.MALFORMED
    assert clicks.runbook.calls == []


@pytest.mark.parametrize("user", [APPROVER, STRANGER])
async def test_only_operators_may_press_export(clicks: Clicks, user: str) -> None:
    await clicks.driver.click(user, EXPORT, "3")
    answer = await clicks.answer_to(user)
    assert "only operators may export the custom images (REGCLEAN_OPERATORS)" in answer.text
    assert clicks.runbook.calls == []


async def test_an_operator_presses_export_and_the_export_starts(clicks: Clicks) -> None:
    await clicks.driver.click(OPERATOR, EXPORT, "3")
    answer = await clicks.answer_to(OPERATOR)
    assert "Exporting the custom images" in answer.text
    assert [c[:2] for c in clicks.runbook.calls] == [("start_export", OPERATOR)]


@pytest.mark.parametrize("user", [OPERATOR, STRANGER])
async def test_only_approvers_may_acknowledge_unverified_packages(clicks: Clicks, user: str) -> None:
    await clicks.driver.click(user, ACK_UNVERIFIED, "3")
    answer = await clicks.answer_to(user)
    assert "only approvers may acknowledge unverified packages (REGCLEAN_APPROVERS)" in answer.text
    assert clicks.runbook.calls == []


async def test_an_approver_acknowledges_unverified_packages(clicks: Clicks) -> None:
    await clicks.driver.click(APPROVER, ACK_UNVERIFIED, "3")
    answer = await clicks.answer_to(APPROVER)
    assert clicks.runbook.calls == [("acknowledge_unverified", 3, APPROVER)]
    assert answer.text == f"{clicks.runbook.ack_sentence} (<@{APPROVER}>)"


async def test_a_runbook_refusal_of_the_acknowledgement_reaches_the_clicker(clicks: Clicks) -> None:
    clicks.runbook.error = RunbookError("This preflight is not part of the active run.")
    await clicks.driver.click(APPROVER, ACK_UNVERIFIED, "3")
    assert (
        await clicks.answer_to(APPROVER)
    ).text == ":warning: This preflight is not part of the active run."


async def test_an_unexpected_failure_answers_with_an_incident_and_no_details(
    clicks: Clicks, caplog: pytest.LogCaptureFixture
) -> None:
    clicks.runbook.error = RuntimeError("database password is hunter2")
    await clicks.driver.click(APPROVER, APPROVE, "7")
    answer = await clicks.answer_to(APPROVER)
    assert "Something went wrong on our side (incident " in answer.text
    assert "hunter2" not in answer.text
    assert any("click failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("user", [APPROVER, STRANGER])
async def test_purge_now_is_for_operators_at_the_moment_it_is_pressed(clicks: Clicks, user: str) -> None:
    await clicks.driver.click(user, PURGE_NOW, "7")
    answer = await clicks.answer_to(user)
    assert "only operators may start a purge (REGCLEAN_OPERATORS)" in answer.text
    assert clicks.runbook.calls == []


async def test_an_operator_presses_purge_now_and_the_runbook_decides(clicks: Clicks) -> None:
    await clicks.driver.click(OPERATOR, PURGE_NOW, "7")
    answer = await clicks.answer_to(OPERATOR)
    assert "Starting the purge." in answer.text
    assert clicks.runbook.calls == [("purge_now", 7, OPERATOR)]


async def test_an_answer_to_an_unreachable_response_url_is_one_log_line_and_leaves_random_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The answer is retried once after a refused connection, as Bolt's respond does, but its jitter
    comes from a generator of its own: Hypothesis, generating from the global one in another thread,
    refuses a run whose state moved under it."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    before = random.getstate()
    with caplog.at_level(logging.WARNING, logger="handlers.ephemeral"):
        await tell(AsyncRespond(response_url=f"http://127.0.0.1:{port}/answer"), "your click is counted")
        await tell(AsyncRespond(response_url=None), "your click is counted")
    assert random.getstate() == before
    assert [r.getMessage() for r in caplog.records] == [
        "cannot answer (ClientConnectorError): your click is counted",
        "cannot answer (no response_url): your click is counted",
    ]
