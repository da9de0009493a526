"""The names of the people the bot's messages name (docs/architecture.md, "People and times in Slack").

Slack sends a person's name with every command and click, and the handlers remember it
(`bot.audit.actors`). A person this process has not heard from (after a restart, or an approver
named by a run of an earlier process) is looked up once with `users.info`; only when that fails
does a message mention them (`handlers.blocks.run.named`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.actors import name_of, remember
from bot.core.model import RunView
from handlers.blocks.run import slack_user

log = logging.getLogger(__name__)


class SlackNames:
    """Looks up, once each, the names of Slack users this process does not know yet."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._asked: set[str] = set()
        """who was looked up already (found or not): a failed lookup is not repeated"""

    async def learn(self, users: Iterable[str | None]) -> None:
        """Know the name of each Slack user in `users` (IDs, or None for nobody) before a message names them."""
        for user in dict.fromkeys(u for u in users if u):
            if not slack_user(user) or user in self._asked or name_of(user) is not None:
                continue
            self._asked.add(user)
            try:
                answer = await self._client.users_info(user=user)
            except SlackApiError as exc:
                log.warning("cannot read the name of %s: %s", user, exc.response.get("error"))
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:  # then the message mentions them
                log.warning("cannot read the name of %s: %s", user, type(exc).__name__)
                continue
            found = answer.get("user")
            name = found.get("name") if isinstance(found, dict) else None
            remember(user, name if isinstance(name, str) else None)

    async def learn_run(self, run: RunView) -> None:
        """Whoever opened the run and whoever asked for each of its steps."""
        await self.learn([run.opened_by, *(s.requested_by for s in run.steps)])
