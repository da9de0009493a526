"""Slack: the bot token works (`auth.test`) and the installation holds every scope manifest.yml asks for.

Slack names a token's scopes only in the `x-oauth-scopes` header of each Web API answer; the
Slack layer reads it (`handlers/slack_probe.py`) and hands it here as a `SlackIdentity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.doctor.model import Check, fail, ok

AREA = "slack"

#: the bot scopes of manifest.yml (tests/unit/bot/test_doctor_checks.py keeps the two equal)
BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "files:write",
        "usergroups:read",
        "users:read",
        "channels:history",
        "groups:history",
    }
)


@dataclass(frozen=True)
class SlackIdentity:
    """What `auth.test` said."""

    ok: bool
    error: str | None = None
    """Slack's error code when not ok (`invalid_auth`, …)."""
    user: str | None = None
    team: str | None = None
    scopes: frozenset[str] | None = None
    """The `x-oauth-scopes` header; None when Slack sent none."""


class SlackProbe(Protocol):
    """Calls `auth.test` with the bot token (the Slack layer implements it)."""

    async def identity(self) -> SlackIdentity: ...


async def slack_checks(probe: SlackProbe | None) -> list[Check]:
    """`auth.test` and the granted scopes against the manifest's."""
    if probe is None:
        return [
            fail(
                AREA, "auth.test", "SLACK_BOT_TOKEN is not set", "Set SLACK_BOT_TOKEN to the app's bot token."
            )
        ]
    who = await probe.identity()
    if not who.ok:
        return [
            fail(
                AREA,
                "auth.test",
                f"Slack refused the bot token: {who.error}",
                "Reinstall the app to the workspace and set SLACK_BOT_TOKEN to its Bot User OAuth Token.",
            )
        ]
    checks = [ok(AREA, "auth.test", f"bot {who.user} in {who.team}")]
    if who.scopes is None:
        checks.append(
            fail(
                AREA,
                "scopes",
                "Slack sent no x-oauth-scopes header, so the granted scopes are unknown",
                "Check SLACK_API_URL points at Slack's Web API.",
            )
        )
        return checks
    missing = sorted(BOT_SCOPES - who.scopes)
    if missing:
        checks.append(
            fail(
                AREA,
                "scopes",
                f"the token lacks {', '.join(missing)}",
                "Add the scopes in the app's OAuth & Permissions page (manifest.yml lists them) and reinstall the app.",
            )
        )
    else:
        checks.append(ok(AREA, "scopes", f"all {len(BOT_SCOPES)} bot scopes of manifest.yml are granted"))
    return checks
