"""`/regclean audit [N]` from Slack: the audit trail as a JSON Lines file, uploaded where it was asked
(in the run's thread when asked in the run's channel), with the chain's verdict; and the names of the
people who act, as Slack sends them, for the trail (docs/architecture.md, "The audit trail")."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.actors import remember
from bot.core.notifier import Requester
from bot.runbook import Runbook

log = logging.getLogger(__name__)


def run_of(args: tuple[str, ...]) -> int | None:
    """The run `/regclean audit` names (None: every run); ValueError says what is wrong."""
    if not args:
        return None
    if len(args) == 1 and args[0].isdigit() and int(args[0]) > 0:
        return int(args[0])
    raise ValueError(f"`audit` takes a run's number or nothing, but got `{' '.join(args)}`.")


def remember_actor(body: dict[str, Any]) -> None:
    """Note the name of whoever sent a command (`user_name`) or pressed a button (`user.username`)."""
    user = body.get("user")
    if isinstance(user, dict):
        remember(str(user.get("id") or ""), user.get("username") or user.get("name"))
    elif isinstance(body.get("user_id"), str):
        remember(body["user_id"], body.get("user_name"))


def start_audit(runbook: Runbook, client: AsyncWebClient, requester: Requester, run_id: int | None) -> None:
    """Hand the export to the engine's background tasks; the acknowledgement has gone already."""
    runbook.engine.spawn(_upload(runbook, client, requester, run_id))


async def _upload(runbook: Runbook, client: AsyncWebClient, requester: Requester, run_id: int | None) -> None:
    content, verdict = await runbook.audit_trail(run_id)
    channel = requester.channel or requester.user
    active = await runbook.status()
    ref = active.notifier_ref if active is not None else {}
    thread = ref.get("ts") if ref.get("channel") == channel else None
    scope = f"run {run_id}" if run_id is not None else "every run"
    mark = ":white_check_mark:" if verdict.broken is None else ":rotating_light:"
    said = str(verdict)
    said = said[0].upper() + said[1:] + ("" if said.endswith(".") else ".")
    try:
        await client.files_upload_v2(
            content=content or "\n",
            filename=f"regclean-audit-{f'run{run_id}' if run_id is not None else 'all'}.jsonl",
            title=f"regclean audit trail, {scope}",
            channel=channel,
            thread_ts=thread,
            initial_comment=f"The audit trail of {scope}, as JSON Lines. {mark} {said}",
        )
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        why = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning("could not upload the audit trail to %s: %s", channel, why)
