"""The maintenance windows in force: declared ones in the store, recurring ones from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.core.errors import RunbookError
from bot.core.model import StepName
from bot.steps.context import StepContext
from bot.steps.preflight.gates import Gate
from bot.steps.schedule.gate import window_gate
from bot.steps.schedule.records import WindowRecords
from bot.steps.schedule.windows import (
    RecurringWindow,
    Window,
    next_window,
    parse_window,
    recurring_windows,
    window_at,
)


@dataclass(frozen=True)
class WindowsNow:
    """Where now stands among the windows."""

    inside: Window | None
    """The window now is in."""
    coming: Window | None
    """The next window to start (the one now is in, when inside one)."""
    used: bool
    """Whether any window is declared or configured at all (without, the purge is never gated by one)."""


class Calendar:
    """`/regclean window`, and the windows that gate the purge and go into its plan."""

    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._records = WindowRecords(ctx.db)

    async def windows(self) -> tuple[list[Window], tuple[RecurringWindow, ...]]:
        """The declared window in force (if any) and the configured recurring ones."""
        settings = self._ctx.settings
        declared = await self._ctx.engine.db(self._records.current)
        return ([declared] if declared else []), recurring_windows(
            settings.windows, settings.windows_timezone
        )

    async def now(self) -> WindowsNow:
        """The window now is in, the next one, and whether windows are in use at all."""
        declared, recurring = await self.windows()
        now = self._ctx.clock.now()
        return WindowsNow(
            window_at(now, declared, recurring),
            next_window(now, declared, recurring),
            bool(declared or recurring),
        )

    async def gate(self) -> Gate:
        """Gate 5: inside a maintenance window, when windows are in use."""
        declared, recurring = await self.windows()
        return window_gate(self._ctx.clock.now(), declared, recurring)

    async def in_plan(self) -> str:
        """The window the purge runs in (part of what is approved: another window voids the approval)."""
        declared, recurring = await self.windows()
        if not declared and not recurring:
            return "no maintenance windows are configured"
        now = self._ctx.clock.now()
        window = window_at(now, declared, recurring) or next_window(now, declared, recurring)
        return f"{window.start.isoformat()}/{window.end.isoformat()}" if window else "no window is coming up"

    async def declare(self, start: str, duration: str, user: str, tz: str | None) -> Window:
        """`/regclean window START DURATION`: the window in force from now on (audited)."""
        window = parse_window(start, duration, self._ctx.clock.now(), declared_by=user, tz=tz)
        return await self._ctx.engine.db(self._records.declare, window, user)

    async def cancel(self, user: str) -> Window:
        """`/regclean window cancel` (audited)."""
        cancelled = await self._ctx.engine.db(self._records.cancel, user)
        if cancelled is None:
            raise RunbookError("No window is declared; there is nothing to cancel.")
        return cancelled

    def expected_restore(self) -> timedelta | None:
        """How long the core and the plugin restore are expected to take together."""
        expected = self._ctx.settings.step_expected
        core, plugins = expected.get(StepName.RESTORE_CORE), expected.get(StepName.RESTORE_PLUGINS)
        return core + plugins if core is not None and plugins is not None else None
