"""A vendor script as the restore runs it: its output shown at a pace, its credentials, its verdict."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

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
