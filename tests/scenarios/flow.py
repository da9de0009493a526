"""Steps of the golden path up to the purge, and the purge, driven as people would in the channel."""

from __future__ import annotations

from typing import Any, Protocol

from sandbox.kube import KubeApiServer
from sandbox.platform import settle_missing_csvs
from sandbox.slack import Message, SlackDriver, SlackWorkspace
from sandbox.stack import Sandbox
from tests.scenarios.conftest import inventory_done, root, text_of

APPROVE = "regclean_purge_approve"
REJECT = "regclean_purge_reject"
ACK_CUSTOM = "regclean_ack_custom"
RESTORE_CORE = "Restore core images"
RESTORE_PLUGINS = "Restore plugin and operator images"
VERIFY = "Verify that every image pulls"


class Driven(Protocol):
    """A bot people talk to: a RunningBot in the test's loop, or a BotProcess in its own process."""

    @property
    def driver(self) -> SlackDriver:
        """Signed slash commands and clicks, to the bot."""
        ...


def button(message: Message, action_id: str) -> dict[str, Any] | None:
    """A button of a message, by action ID."""
    return message.button(action_id)


def in_thread(ws: SlackWorkspace, needle: str) -> Message | None:
    """The newest message of the run's thread that contains `needle`."""
    top = root(ws)
    if top is None:
        return None
    found = [m for m in ws.thread(top.ts) if needle in text_of(m)]
    return found[-1] if found else None


def request_message(ws: SlackWorkspace) -> Message | None:
    """The newest purge request, posted at the top of the channel."""
    found = [m for m in ws.messages if m.thread_ts is None and "Purge request #" in text_of(m)]
    return found[-1] if found else None


def step_line(ws: SlackWorkspace, icon: str, title: str) -> Message | None:
    """The checklist, once the step with this title shows this icon."""
    top = root(ws)
    return top if top is not None and f"{icon} *{title}" in text_of(top) else None


async def recorded_and_backed_up(bot: Driven, ws: SlackWorkspace, kube: KubeApiServer | None = None) -> None:
    """`/regclean inventory`, then `/regclean backup`, each to its end.

    With `kube`, the sample's operator that reports no installed CSV is settled first (see
    `settle_missing_csvs`), so that every installed operator has a package.
    """
    if kube is not None:
        assert settle_missing_csvs(kube) == ["global/tektoncd-operator"]
    await bot.driver.slash("UALICE", "inventory")
    await inventory_done(ws)
    await bot.driver.slash("UALICE", "backup")
    await ws.wait_for(lambda w: step_line(w, "✅", "Back up"), timeout=60)


async def preflight(bot: Driven, ws: SlackWorkspace) -> Message:
    """`/regclean preflight`, and the report it posts."""
    before = len([m for m in ws.messages if "Preflight — run #" in text_of(m)])

    def posted(w: SlackWorkspace) -> Message | None:
        found = [m for m in w.messages if "Preflight — run #" in text_of(m)]
        return found[-1] if len(found) > before else None

    await bot.driver.slash("UALICE", "preflight")
    return await ws.wait_for(posted, timeout=30)


async def acknowledge_custom_images(bot: Driven, ws: SlackWorkspace, report: Message) -> None:
    """Press the preflight report's Acknowledge button, as an operator."""
    pressed = button(report, ACK_CUSTOM)
    assert pressed is not None, text_of(report)
    await bot.driver.click("UALICE", ACK_CUSTOM, pressed["value"], message=report)
    await ws.wait_for(
        lambda w: any(e.user == "UALICE" and "You acknowledged" in e.text for e in w.ephemerals)
    )


async def gates_hold(bot: Driven, sandbox: Sandbox) -> None:
    """Everything the gates need: inventory, backup, preflight, custom images acknowledged."""
    ws = sandbox.slack
    await recorded_and_backed_up(bot, ws, sandbox.kube)
    report = await preflight(bot, ws)
    await acknowledge_custom_images(bot, ws, report)


async def ready_for_purge(bot: Driven, sandbox: Sandbox) -> Message:
    """Everything the gates need, then `/regclean purge`; returns the approval request."""
    await gates_hold(bot, sandbox)
    await bot.driver.slash("UALICE", "purge")
    return await sandbox.slack.wait_for(request_message, timeout=30)


async def approve(bot: Driven, user: str, request: Message, *, retry_num: int | None = None) -> None:
    """Press Approve on the request message."""
    pressed = button(request, APPROVE)
    assert pressed is not None, text_of(request)
    await bot.driver.click(user, APPROVE, pressed["value"], message=request, retry_num=retry_num)


async def purged(bot: Driven, sandbox: Sandbox) -> None:
    """Everything the gates need, the purge request, two approvals, and the purge to its end."""
    request = await ready_for_purge(bot, sandbox)
    await approve(bot, "UBOB", request)
    await sandbox.slack.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    await approve(bot, "UCAROL", request)
    await sandbox.slack.wait_for(lambda w: step_line(w, "✅", "Purge"), timeout=60)
