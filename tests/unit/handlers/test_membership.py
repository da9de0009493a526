"""User group membership: cached for a minute, and failing closed when Slack cannot say (against
the simulated Slack Web API)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from handlers.membership import TTL, SlackMembership
from sandbox.slack import SlackWorkspace


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    await workspace.start()
    workspace.add_usergroup("S0APPROVE", "purge-approvers", ["UBOB", "UCAROL"])
    yield workspace
    await workspace.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_member_removed_from_the_group_loses_the_role_within_a_minute(ws: SlackWorkspace) -> None:
    clock = Clock()
    groups = SlackMembership(AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), clock=clock)
    assert await groups.members("purge-approvers") == {"UBOB", "UCAROL"}
    ws.usergroups["S0APPROVE"].user_ids.remove("UCAROL")
    clock.now += TTL - 1
    assert await groups.members("purge-approvers") == {"UBOB", "UCAROL"}, "cached within the minute"
    clock.now += 2
    assert await groups.members("purge-approvers") == {"UBOB"}
    assert TTL <= 60


async def test_when_slack_cannot_say_nobody_has_the_groups_role(ws: SlackWorkspace) -> None:
    clock = Clock()
    groups = SlackMembership(AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), clock=clock)
    assert await groups.members("purge-approvers") == {"UBOB", "UCAROL"}
    ws.scopes.discard("usergroups:read")  # usergroups.* now answer missing_scope
    clock.now += TTL + 1
    assert await groups.members("purge-approvers") == frozenset(), "fails closed, never the stale members"
    ws.scopes.add("usergroups:read")
    assert await groups.members("purge-approvers") == {"UBOB", "UCAROL"}, "and recovers at the next ask"


async def test_an_unreachable_slack_fails_closed_too(ws: SlackWorkspace) -> None:
    groups = SlackMembership(
        AsyncWebClient(token=ws.bot_token, base_url="http://127.0.0.1:9/api/", timeout=2)
    )
    assert await groups.members("purge-approvers") == frozenset()
