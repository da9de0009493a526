"""`/regclean rehearse` from Slack: rehearse in the background and post the result where it was asked."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.notifier import Requester
from bot.runbook import Runbook
from handlers.blocks.rehearse import rehearsal_blocks, rehearsal_text
from handlers.slack_probe import SlackProbe

log = logging.getLogger(__name__)


def start_rehearsal(runbook: Runbook, client: AsyncWebClient, requester: Requester) -> None:
    """Hand the rehearsal to the engine's background tasks; the acknowledgement has gone already."""
    runbook.engine.spawn(_rehearse(runbook, client, requester))


async def _rehearse(runbook: Runbook, client: AsyncWebClient, requester: Requester) -> None:
    rehearsal = await runbook.rehearse(SlackProbe(client))
    channel = requester.channel or requester.user
    try:
        await client.chat_postMessage(
            channel=channel, text=rehearsal_text(rehearsal), blocks=rehearsal_blocks(rehearsal)
        )
    except Exception:
        log.exception("could not post the rehearsal to %s", channel)
