"""User group membership from Slack, cached for a minute so that authorizing a command seldom costs
a round trip, and failing closed: when Slack cannot say who is in a group, nobody is."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

TTL = 60.0
"""Seconds a group's members are trusted: someone removed from a group loses its role within this."""


class SlackMembership:
    """Resolves `@handle` user groups with `usergroups.list` and `usergroups.users.list`, to their
    members (authorization) or their ID (a mention)."""

    def __init__(
        self, client: AsyncWebClient, *, ttl: float = TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, handle: str) -> frozenset[str]:
        """The user IDs in a group; a group Slack does not know has no members."""
        cached = self._cache.get(handle)
        if cached and cached[0] > self._clock():
            return cached[1]
        try:
            members = await self._fetch(handle)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            error = (
                exc.response.get("error")
                if isinstance(exc, SlackApiError) and exc.response is not None
                else type(exc).__name__
            )
            log.warning(
                "cannot resolve user group @%s (%s): its role goes to nobody until Slack answers",
                handle,
                error,
            )
            # Fail closed: a stale answer would keep the role of someone removed from the group.
            self._cache.pop(handle, None)
            return frozenset()
        self._cache[handle] = (self._clock() + self._ttl, members)
        return members

    async def group_id(self, handle: str) -> str | None:
        """The ID of the user group with this handle (for a `<!subteam^ID>` mention); None when
        Slack knows none or cannot be asked."""
        try:
            return await self._group_id(handle)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "unknown"
            log.warning("cannot look up user group @%s: %s", handle, error)
            return None

    async def _group_id(self, handle: str) -> str | None:
        groups = await self._client.usergroups_list(include_disabled=False)
        listed: list[dict[str, str]] = groups.get("usergroups", [])
        return next((g["id"] for g in listed if g.get("handle") == handle), None)

    async def _fetch(self, handle: str) -> frozenset[str]:
        group_id = await self._group_id(handle)
        if group_id is None:
            log.warning("no user group with the handle @%s in this workspace", handle)
            return frozenset()
        users = await self._client.usergroups_users_list(usergroup=group_id)
        return frozenset(users.get("users", []))
