"""Who may do what: one table, enforced in one place (errbot's ACCESS_CONTROLS, in spirit).

Entries are Slack user IDs or `@handle` user groups. Group membership is looked up through a
`Membership` that the Slack layer provides; the core never talks to Slack itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    """The roles of the runbook (docs/architecture.md, "The two-person rule")."""

    OPERATOR = "operator"
    APPROVER = "approver"


#: subcommand → the roles that may run it; an empty set means anyone in the workspace
COMMAND_ROLES: Mapping[str, frozenset[Role]] = {
    "help": frozenset(),
    "status": frozenset({Role.OPERATOR, Role.APPROVER}),
    "inventory": frozenset({Role.OPERATOR}),
    "backup": frozenset({Role.OPERATOR}),
    "preflight": frozenset({Role.OPERATOR}),
    "export": frozenset({Role.OPERATOR}),
    "waive": frozenset({Role.APPROVER}),
    "purge": frozenset({Role.OPERATOR}),
    "restore": frozenset({Role.OPERATOR, Role.APPROVER}),
    "verify": frozenset({Role.OPERATOR, Role.APPROVER}),
    "close": frozenset({Role.OPERATOR}),
    "window": frozenset({Role.OPERATOR, Role.APPROVER}),
    "schedule": frozenset({Role.OPERATOR, Role.APPROVER}),
    "doctor": frozenset({Role.OPERATOR, Role.APPROVER}),
    "rehearse": frozenset({Role.OPERATOR, Role.APPROVER}),
    "audit": frozenset({Role.OPERATOR, Role.APPROVER}),
}

#: button → the roles that may press it (the two-person rule itself is in bot/steps/approval/records.py)
ACTION_ROLES: Mapping[str, frozenset[Role]] = {
    "approve": frozenset({Role.APPROVER}),
    "reject": frozenset({Role.APPROVER}),
    "export": frozenset({Role.OPERATOR}),
    "acknowledge_unverified_packages": frozenset({Role.APPROVER}),
    "purge_now": frozenset({Role.OPERATOR}),
    "purge_at_window": frozenset({Role.OPERATOR}),
}


class Roles(Protocol):
    """Who holds a role now (`AccessPolicy`): asked again when a purge starts."""

    async def has_role(self, user: str, role: Role) -> bool: ...


class Membership(Protocol):
    """Resolves a user group handle (without `@`) to its members' user IDs."""

    async def members(self, handle: str) -> frozenset[str]: ...


@dataclass(frozen=True)
class AccessList:
    """A list of user IDs and user group handles."""

    users: frozenset[str]
    groups: frozenset[str]
    """Handles without the leading `@`."""

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AccessList:
        """Split configured entries into user IDs and `@handle`s."""
        users, groups = set(), set()
        for entry in entries:
            entry = entry.strip()
            if entry.startswith("@"):
                groups.add(entry[1:])
            elif entry:
                users.add(entry)
        return cls(frozenset(users), frozenset(groups))

    @property
    def empty(self) -> bool:
        """Nobody is on the list."""
        return not (self.users or self.groups)

    async def contains(self, user: str, membership: Membership) -> bool:
        """Whether a user is listed directly or through one of the groups."""
        if user in self.users:
            return True
        for handle in sorted(self.groups):
            if user in await membership.members(handle):
                return True
        return False


@dataclass(frozen=True)
class Decision:
    """The answer to "may this user run this?", with who may when the answer is no."""

    allowed: bool
    roles: frozenset[Role]
    """The roles that may run the command."""
    allowed_users: tuple[str, ...] = ()
    allowed_groups: tuple[str, ...] = ()


class AccessPolicy:
    """Checks a user against the command table and the configured lists."""

    def __init__(self, operators: AccessList, approvers: AccessList, membership: Membership) -> None:
        self._lists = {Role.OPERATOR: operators, Role.APPROVER: approvers}
        self._membership = membership

    async def check(self, user: str, command: str) -> Decision:
        """May `user` run `command`? Unknown commands are nobody's."""
        roles = COMMAND_ROLES.get(command)
        if roles is None:
            return Decision(False, frozenset())
        if not roles:
            return Decision(True, roles)
        for role in sorted(roles):
            if await self._lists[role].contains(user, self._membership):
                return Decision(True, roles)
        users = sorted({u for r in roles for u in self._lists[r].users})
        groups = sorted({g for r in roles for g in self._lists[r].groups})
        return Decision(False, roles, tuple(users), tuple(groups))

    async def has_role(self, user: str, role: Role) -> bool:
        """Whether a user holds a role."""
        return await self._lists[role].contains(user, self._membership)
