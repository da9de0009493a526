"""Button clicks: Approve, Reject, Export custom images, Acknowledge unverified packages, and when an
approved purge runs.

Each listener acknowledges at once and hands the click to a lazy listener (bolt-python's pattern
for `process_before_response`), which decides through the runbook and answers the clicker
privately. The request message itself is updated by the core through the Notifier.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.core.authz import ACTION_ROLES, AccessPolicy
from bot.core.errors import RunbookError
from bot.core.model import Said
from bot.core.notifier import Requester
from bot.steps.approval.model import Click, Outcome
from handlers.blocks.approval import APPROVE, REJECT
from handlers.blocks.custom_images import EXPORT
from handlers.blocks.preflight import ACK_UNVERIFIED
from handlers.blocks.run import said_text, who
from handlers.blocks.schedule import PURGE_AT_WINDOW, PURGE_NOW
from handlers.blocks.tables import escape
from handlers.ephemeral import tell

if TYPE_CHECKING:  # the listeners only call it; importing it here would pull in the whole core
    from bot.runbook import Runbook

log = logging.getLogger(__name__)

MALFORMED = "This button is malformed; regclean did not count the click."
CONFIRMED = {
    Outcome.COUNTED: ":ballot_box_with_check: Your approval is counted. {reason}",
    Outcome.COMPLETED: (
        ":white_check_mark: Your approval completes the request: {reason} The purge starts now, or, with "
        "maintenance windows, when the requester chooses; the thread says which."
    ),
    Outcome.REJECTED: ":no_entry: You rejected the purge request; it is closed.",
}
Lazy = Callable[[dict[str, Any], AsyncRespond], Awaitable[None]]


def click_reply(click: Click) -> str:
    """What the clicker is told about their click."""
    template = CONFIRMED.get(click.outcome)
    if template is None:  # refused, duplicate, closed: the reason says it all
        return f":warning: {escape(click.reason)}"
    return template.format(reason=escape(click.reason))


def button_id(body: dict[str, Any]) -> int | None:
    """The id a button carries in its value; None when the value is not a number."""
    actions = body.get("actions") or [{}]
    value = str(actions[0].get("value", ""))
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def answered(work: Lazy) -> Lazy:
    """A lazy listener that breaks still answers the clicker, like `on_error` does for listeners."""

    @functools.wraps(work)
    async def wrapper(body: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            await work(body, respond)
        except Exception as exc:
            incident = uuid.uuid4().hex[:8]
            log.error("click failed (incident %s)", incident, exc_info=exc)
            await tell(respond, f":x: Something went wrong on our side (incident {incident}).")

    return wrapper


def register(app: AsyncApp, runbook: Runbook, policy: AccessPolicy) -> None:
    """Wire the purge request's and the preflight's buttons into a Bolt app."""

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    @answered
    async def approve(body: dict[str, Any], respond: AsyncRespond) -> None:
        await decide(body, respond, "approve", runbook.approve)

    @answered
    async def reject(body: dict[str, Any], respond: AsyncRespond) -> None:
        await decide(body, respond, "reject", runbook.reject)

    async def decide(
        body: dict[str, Any], respond: AsyncRespond, action: str, click: Callable[..., Awaitable[Click]]
    ) -> None:
        request_id = button_id(body)
        if request_id is None:
            await tell(respond, MALFORMED)
            return
        user = body["user"]["id"]
        # Not a refusal here: the two-person rule decides, audits, and says why (bot/steps/approval/records.py).
        may_approve = await _has_any_role(policy, user, action)
        outcome = await click(request_id, user, may_approve=may_approve)
        log.info("purge request #%d: %s by %s", request_id, outcome.outcome.value, user)
        await tell(respond, click_reply(outcome))

    @answered
    async def acknowledge_unverified(body: dict[str, Any], respond: AsyncRespond) -> None:
        await press_acknowledgement(
            body,
            respond,
            "acknowledge_unverified_packages",
            "unverified packages",
            runbook.acknowledge_unverified,
        )

    async def press_acknowledgement(
        body: dict[str, Any],
        respond: AsyncRespond,
        action: str,
        what: str,
        press: Callable[[int, str], Awaitable[Said]],
    ) -> None:
        preflight_id = button_id(body)
        if preflight_id is None:
            await tell(respond, MALFORMED)
            return
        user = body["user"]["id"]
        if not await _has_any_role(policy, user, action):
            roles = " or ".join(sorted(r.value + "s" for r in ACTION_ROLES[action]))
            settings = ", ".join(
                f"REGCLEAN_{r.value.upper()}S" for r in sorted(ACTION_ROLES[action], reverse=True)
            )
            await tell(respond, f"Sorry {who(user)}, only {roles} may acknowledge {what} ({settings}).")
            return
        try:
            sentence = await press(preflight_id, user)
        except RunbookError as exc:
            await tell(respond, f":warning: {escape(str(exc))}")
            return
        await tell(respond, said_text(sentence))

    @answered
    async def export(body: dict[str, Any], respond: AsyncRespond) -> None:
        user = body["user"]["id"]
        if not await _has_any_role(policy, user, "export"):
            await tell(
                respond,
                f"Sorry {who(user)}, only operators may export the custom images (REGCLEAN_OPERATORS).",
            )
            return
        channel = (body.get("channel") or {}).get("id")
        runbook.start_export(Requester(user, channel))
        await tell(respond, "Exporting the custom images… progress goes to the run's thread.")

    @answered
    async def purge_now(body: dict[str, Any], respond: AsyncRespond) -> None:
        await choose(body, respond, "purge_now", runbook.purge_now)

    @answered
    async def purge_at_window(body: dict[str, Any], respond: AsyncRespond) -> None:
        await choose(body, respond, "purge_at_window", runbook.purge_at_window_start)

    async def choose(
        body: dict[str, Any], respond: AsyncRespond, action: str, pick: Callable[[int, str], Awaitable[str]]
    ) -> None:
        request_id = button_id(body)
        if request_id is None:
            await tell(respond, MALFORMED)
            return
        if not await _has_any_role(
            policy, body["user"]["id"], action
        ):  # the role may have gone since the request
            await tell(
                respond,
                f"Sorry {who(body['user']['id'])}, only operators may start a purge (REGCLEAN_OPERATORS).",
            )
            return
        try:  # only the requester may choose; the runbook checks it, and the gates again at the start
            await tell(respond, escape(await pick(request_id, body["user"]["id"])))
        except RunbookError as exc:
            await tell(respond, f":warning: {escape(str(exc))}")

    listeners = (
        (APPROVE, approve),
        (REJECT, reject),
        (ACK_UNVERIFIED, acknowledge_unverified),
        (EXPORT, export),
        (PURGE_NOW, purge_now),
        (PURGE_AT_WINDOW, purge_at_window),
    )
    for action_id, work in listeners:
        app.action(action_id)(ack=acknowledge, lazy=[work])


async def _has_any_role(policy: AccessPolicy, user: str, action: str) -> bool:
    for role in sorted(ACTION_ROLES[action]):
        if await policy.has_role(user, role):
            return True
    return False
