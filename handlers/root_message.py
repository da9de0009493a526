"""Finding a run's root message again when the bot lost where it posted it.

The engine stores where the checklist went only after Slack answered the post; a bot killed in
between would post a second checklist for the same run. So the root message carries metadata
naming the run (and when it was opened, which no other database's run #1 shares), and a run
without a stored reference looks for it in the channel's recent history before posting.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
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
        messages = history.get("messages") or []
        found = [m for m in messages if isinstance(m, dict) and m.get("metadata") == root_metadata(run)]
    except SlackApiError as exc:
        why = str(exc.response.get("error"))
    except (aiohttp.ClientError, TimeoutError, ValueError, TypeError, AttributeError) as exc:
        # A lost connection or an answer of another shape: the run still needs its message.
        why = type(exc).__name__
    else:
        if found:
            log.info(
                "run #%d: its root message %s was posted before a restart; updating it",
                run.id,
                found[0].get("ts"),
            )
            return str(found[0]["ts"])
        return None
    log.warning(
        "cannot read the history of %s to find run #%d's message (%s): posting a new one",
        channel,
        run.id,
        why,
    )
    return None
