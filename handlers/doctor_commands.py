"""`/regclean doctor` from Slack: run the checks in the background and post the table where it was asked."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.notifier import Requester
from bot.runbook import Runbook
from handlers.blocks.doctor import doctor_blocks, doctor_text
from handlers.slack_probe import SlackProbe

log = logging.getLogger(__name__)


def start_doctor(runbook: Runbook, client: AsyncWebClient, requester: Requester) -> None:
    """Hand the checks to the engine's background tasks; the acknowledgement has gone already."""
    runbook.engine.spawn(_doctor(runbook, client, requester))


async def _doctor(runbook: Runbook, client: AsyncWebClient, requester: Requester) -> None:
    report = await runbook.doctor(SlackProbe(client))
    channel = requester.channel or requester.user
    try:
        await client.chat_postMessage(channel=channel, text=doctor_text(report), blocks=doctor_blocks(report))
    except Exception:
        log.exception("could not post the doctor's report to %s", channel)
