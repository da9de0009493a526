"""Who may run what, as a table."""

from __future__ import annotations

import pytest

from bot.core.authz import AccessList, AccessPolicy


class Groups:
    def __init__(self, groups: dict[str, set[str]]) -> None:
        self.groups = groups
        self.asked: list[str] = []

    async def members(self, handle: str) -> frozenset[str]:
        self.asked.append(handle)
        return frozenset(self.groups.get(handle, set()))


POLICY = AccessPolicy(
    AccessList.parse(["UOPS1", "@platform-ops"]),
    AccessList.parse(["UAPP1", "@approvers"]),
    Groups({"platform-ops": {"UOPS2"}, "approvers": {"UAPP2"}}),
)


@pytest.mark.parametrize(
    ("user", "command", "allowed"),
    [
        ("UOPS1", "inventory", True),
        ("UOPS2", "inventory", True),  # through the user group
        ("UAPP1", "inventory", False),  # approvers do not run steps
        ("USTRANGER", "inventory", False),
        ("USTRANGER", "help", True),
        ("UAPP2", "status", True),
        ("UOPS1", "status", True),
        ("USTRANGER", "status", False),
        ("UOPS1", "no-such-command", False),
    ],
)
async def test_access_table(user: str, command: str, allowed: bool) -> None:
    assert (await POLICY.check(user, command)).allowed is allowed


async def test_a_refusal_lists_who_may_run_the_command() -> None:
    decision = await POLICY.check("USTRANGER", "inventory")
    assert decision.allowed_users == ("UOPS1",)
    assert decision.allowed_groups == ("platform-ops",)


async def test_a_listed_user_is_allowed_without_asking_slack_for_groups() -> None:
    groups = Groups({})
    policy = AccessPolicy(AccessList.parse(["U1", "@ops"]), AccessList.parse([]), groups)
    assert (await policy.check("U1", "inventory")).allowed
    assert groups.asked == []


async def test_nobody_may_run_steps_when_no_operators_are_configured() -> None:
    policy = AccessPolicy(AccessList.parse([]), AccessList.parse([]), Groups({}))
    decision = await policy.check("U1", "inventory")
    assert not decision.allowed
    assert decision.allowed_users == () and decision.allowed_groups == ()
