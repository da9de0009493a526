"""Purge requests as top-level channel messages: posted once, then kept up to date in place."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.steps.purge.model import ApprovalNotice
from handlers.blocks.approval import approval_blocks, approval_text
from handlers.blocks.run import who
from handlers.blocks.tables import escape
from handlers.live import Clock, LiveMessage, Pacer

log = logging.getLogger(__name__)


class GroupIds(Protocol):
    """Finds a user group's ID by its handle (handlers/membership.py), for a `<!subteam^ID>` mention."""

    async def group_id(self, handle: str) -> str | None: ...


class ApprovalMessages:
    """One live message per purge request, in the channel itself so that approvers see it.

    Updates go through LiveMessage: at most one `chat.update` per interval, and a trailing update
    with the newest content, so the last count and the closed state are always what stays shown.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        interval: float = 1.0,
        pacer: Pacer | None = None,
        clock: Clock = time.monotonic,
        groups: GroupIds | None = None,
    ) -> None:
        self._client = client
        self._groups = groups
        self._interval = interval
        self._pacer = pacer
        self._clock = clock
        self._messages: dict[int, LiveMessage] = {}
        """request → its message"""

    async def show(self, notice: ApprovalNotice, channel: str | None) -> dict[str, str] | None:
        """Post the request to `channel` (first call) or update it; where it was posted, the first time."""
        request = notice.request
        live = self._messages.get(request.id)
        if live is None:
            ref = notice.ref or {}
            if ref.get("channel") and ref.get("ts"):
                # Posted by an earlier process: update that message, never post a second one.
                live = self._live(ref["channel"], ref["ts"])
            elif channel:
                live = self._live(channel, None)
            else:
                log.warning("purge request #%d has no channel to post to; set SLACK_CHANNEL", request.id)
                return None
            self._messages[request.id] = live
        unposted = live.ts is None
        # Mentions only in the post that asks: an update would show them again for nothing.
        mentions = await self.mentions(notice.asking) if unposted else ""
        await live.show(approval_text(notice, mentions), approval_blocks(notice, mentions))
        if unposted and live.ts is not None:
            return {"channel": live.channel, "ts": live.ts}
        return None

    async def mentions(self, entries: Sequence[str]) -> str:
        """Slack mentions of approvers: `<@U…>` for a user ID, `<!subteam^S…>` for an `@handle` group
        (by its ID; a group Slack does not know is named, without notifying anyone)."""
        shown = []
        for entry in entries:
            if not entry.startswith("@"):
                shown.append(who(entry))
                continue
            group = await self._groups.group_id(entry[1:]) if self._groups is not None else None
            if group is None:
                log.warning("cannot mention the approvers' group %s: Slack knows no such handle", entry)
            shown.append(f"<!subteam^{escape(group)}>" if group else escape(entry))
        return " ".join(shown)

    async def permalink(self, where: dict[str, str]) -> str | None:
        """A link to a posted message, when Slack gives one."""
        try:
            answer = await self._client.chat_getPermalink(channel=where["channel"], message_ts=where["ts"])
        except SlackApiError as exc:
            log.warning("no permalink for %s: %s", where["ts"], exc.response.get("error"))
            return None
        link = answer.get("permalink")
        return link if isinstance(link, str) else None

    async def flush(self) -> None:
        """Deliver pending updates now."""
        await asyncio.gather(*(m.flush() for m in self._messages.values()))

    def _live(self, channel: str, ts: str | None) -> LiveMessage:
        return LiveMessage(
            self._client, channel, ts=ts, interval=self._interval, pacer=self._pacer, clock=self._clock
        )
