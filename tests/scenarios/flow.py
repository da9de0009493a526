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
EXPORT = "regclean_export"
RESTORE_CORE = "Restore core images"
RESTORE_PLUGINS = "Restore plugin and operator images"
RESTORE_CUSTOM = "Push the custom images back"
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


async def exported(bot: Driven, ws: SlackWorkspace, report: Message) -> Message:
    """Press the preflight report's Export button, as an operator; the export's result, once it
    succeeded."""
    pressed = button(report, EXPORT)
    assert pressed is not None, text_of(report)
    await bot.driver.click("UALICE", EXPORT, pressed["value"], message=report)
    return await ws.wait_for(
        lambda w: (
            (m := in_thread(w, "Custom images exported")) is not None
            and "custom images exported and verified" in text_of(m)
            and step_line(w, "✅", "Export the custom images") is not None
            and m
        ),
        timeout=60,
    )


async def gates_hold(bot: Driven, sandbox: Sandbox) -> None:
    """Everything the gates need: inventory, backup, preflight, custom images exported."""
    ws = sandbox.slack
    await recorded_and_backed_up(bot, ws, sandbox.kube)
    report = await preflight(bot, ws)
    await exported(bot, ws, report)


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


async def approved_and_purged(bot: Driven, sandbox: Sandbox, request: Message, timeout: float = 60) -> None:  # noqa: ASYNC109
    """Two approvers approve the request, and the purge runs to its end."""
    await approve(bot, "UBOB", request)
    await sandbox.slack.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    await approve(bot, "UCAROL", request)
    await sandbox.slack.wait_for(lambda w: step_line(w, "✅", "Purge"), timeout=timeout)


async def purged(bot: Driven, sandbox: Sandbox) -> None:
    """Everything the gates need, the purge request, two approvals, and the purge to its end."""
    await approved_and_purged(bot, sandbox, await ready_for_purge(bot, sandbox))


async def restored_and_closed(bot: Driven, sandbox: Sandbox) -> None:
    """After the purge: the core and the plugins restored, the custom images pushed back from the
    run's export (nothing of the platform restores them), every image verified, and the run closed
    with its final report."""
    ws = sandbox.slack
    await bot.driver.slash("UALICE", "restore core")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=60)
    await bot.driver.slash("UALICE", "restore plugins")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_PLUGINS), timeout=90)
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CUSTOM), timeout=60)
    await ws.wait_for(lambda w: step_line(w, "✅", VERIFY), timeout=60)
    await ws.wait_for(lambda w: in_thread(w, "Final report — run #"), timeout=60)
