"""Finding a run's root message again when the bot lost where it posted it.

The engine stores where the checklist went only after Slack answered the post; a bot killed in
between would post a second checklist for the same run. So the root message carries metadata
naming the run (and when it was opened, which no other database's run #1 shares), and a run
without a stored reference looks for it in the channel's recent history before posting.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import RunView

log = logging.getLogger(__name__)

EVENT_TYPE = "regclean_run"
#: how far back in the channel to look (the root is posted when the run's first step starts)
LOOK_BACK = 200


def root_metadata(run: RunView) -> dict[str, Any]:
    """What the root message says about itself."""
    return {"event_type": EVENT_TYPE, "event_payload": {"run": run.id, "opened": run.opened_at.isoformat()}}


async def find_root(client: AsyncWebClient, channel: str, run: RunView) -> str | None:
    """The ts of the run's root message if the channel's recent history has it; None otherwise
    (also when Slack will not say, e.g. without the history scope: then a new one is posted)."""
    if run.notifier_ref.get("ts"):
        return str(run.notifier_ref["ts"])
    try:
        history = await client.conversations_history(
            channel=channel, limit=LOOK_BACK, include_all_metadata=True
        )
    except SlackApiError as exc:
        log.warning(
            "cannot read the history of %s to find run #%d's message: %s",
            channel,
            run.id,
            exc.response.get("error"),
        )
        return None
    wanted = root_metadata(run)
    for message in history.get("messages") or []:
        if message.get("metadata") == wanted:
            log.info(
                "run #%d: its root message %s was posted before a restart; updating it",
                run.id,
                message.get("ts"),
            )
            return str(message["ts"])
    return None
