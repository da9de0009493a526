"""`auth.test` for `regclean doctor`, with the scopes Slack names only in a response header."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.doctor.slack import SlackIdentity


class SlackProbe:
    """The doctor's view of the bot token (bot/doctor/slack.py)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def identity(self) -> SlackIdentity:
        """Call `auth.test`; read `x-oauth-scopes` from its answer."""
        try:
            answer = await self._client.auth_test()
        except SlackApiError as exc:
            return SlackIdentity(False, str(exc.response.get("error") or "error"))
        except Exception as exc:
            return SlackIdentity(False, f"no answer from Slack ({type(exc).__name__})")
        headers = {k.lower(): v for k, v in (answer.headers or {}).items()}
        raw = headers.get("x-oauth-scopes")
        if isinstance(raw, list):
            raw = ",".join(raw)
        scopes = frozenset(s.strip() for s in raw.split(",") if s.strip()) if raw is not None else None
        return SlackIdentity(True, None, answer.get("user"), answer.get("team"), scopes)
