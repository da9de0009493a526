"""A vendor script as the restore runs it: its output shown at a pace, its credentials, its verdict."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from actions.errors import ActionError
from actions.registry import RegistryTarget
from actions.restore import RestoreOutcome
from bot.config.settings import Settings
from bot.config.targets import registry_target

Output = Callable[[str, Sequence[str]], Awaitable[object]]


class Progress:
    """A script's output as it comes: the newest lines in the thread, the newest one on the checklist,
    at most about once a second each (lines arrive masked)."""

    def __init__(
        self, show: Callable[[str], Awaitable[object]], what: str, output: Output | None = None
    ) -> None:
        self._show, self._what, self._output, self._last = show, what, output, 0.0
        self._lines: deque[str] = deque(maxlen=15)

    async def line(self, text: str) -> None:
        self._lines.append(text)
        now = time.monotonic()
        if now - self._last >= 1.0:
            self._last = now
            await self._show(f"{self._what}: {text[:200]}")
            if self._output is not None:
                await self._output(self._what, tuple(self._lines))

    async def done(self) -> None:
        """Show the last lines, which the once-a-second pace may have held back."""
        if self._output is not None and self._lines:
            await self._output(self._what, tuple(self._lines))


def credentials(settings: Settings) -> tuple[RegistryTarget, str, str]:
    """The registry, its user and password, for upload.sh."""
    settings.require("registry", "registry_username", "registry_password")
    assert settings.registry_username and settings.registry_password
    return (
        registry_target(settings),
        settings.registry_username,
        settings.registry_password.get_secret_value(),
    )


@dataclass(frozen=True)
class PlatformLogin:
    """How `violet push` logs in to the platform: a token, or a username and password."""

    url: str
    username: str = ""
    password: str = ""
    token: str | None = None
    """REGCLEAN_PLATFORM_TOKEN; when set, the username and password are not passed at all."""

    def __repr__(self) -> str:  # never the secrets, whoever logs this
        return f"PlatformLogin(url={self.url!r}, username={self.username!r}, token={self.token is not None})"


def platform_login(settings: Settings) -> PlatformLogin:
    """The platform's address with the token when one is set (users of an identity provider must use
    one), else with the username and password."""
    if settings.platform_token is not None:
        settings.require("platform_url")
        assert settings.platform_url
        return PlatformLogin(settings.platform_url, token=settings.platform_token.get_secret_value())
    settings.require("platform_url", "platform_username", "platform_password")
    assert settings.platform_url and settings.platform_username and settings.platform_password
    return PlatformLogin(
        settings.platform_url, settings.platform_username, settings.platform_password.get_secret_value()
    )


def raise_unless_done(outcome: RestoreOutcome, what: str) -> None:
    """A script that did not exit 0 fails the step, with its last (masked) lines."""
    if outcome.succeeded:
        return
    tail = " | ".join(line for line in outcome.tail[-5:] if line.strip()) or "no output"
    if outcome.exit_status is None:
        raise ActionError(f"{what}: outcome unknown ({tail}). Run the step again once the node is reachable.")
    raise ActionError(
        f"{what} exited with status {outcome.exit_status}: {tail}. Fix it, then run the step again."
    )
