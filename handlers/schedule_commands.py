"""`/regclean window`, `/regclean schedule` and `/regclean status`: answered to the person who asked,
with times as Slack dates (each reader's zone); the person's zone from users.info only shapes the
examples of a window's start."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import RunbookError
from bot.core.model import Said
from bot.scheduler import Scheduled
from bot.steps.schedule.windows import outlast_said
from handlers.blocks.run import checklist_blocks, said_text, slack_date
from handlers.blocks.tables import Block, escape, section

if TYPE_CHECKING:
    from bot.runbook import Runbook

log = logging.getLogger(__name__)

_KIND = {
    "purge": "purge of request #{n} at the window's start",
    "expiry": "expiry of request #{n}",
    "reminder": "reminder about request #{n}",
    "overrun": "overrun check of step #{n}",
}


class Zones:
    """Each user's Slack time zone from users.info, cached for an hour; None when Slack does not say."""

    def __init__(self, client: AsyncWebClient, ttl: float = 3600.0) -> None:
        self._client, self._ttl = client, ttl
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def of(self, user: str) -> str | None:
        cached = self._cache.get(user)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            info = await self._client.users_info(user=user)
            tz = (info.get("user") or {}).get("tz")
        except SlackApiError as exc:
            log.warning("cannot read the time zone of %s: %s", user, exc.response.get("error"))
            tz = None
        except (aiohttp.ClientError, TimeoutError) as exc:  # times then show in UTC, which says so
            log.warning("cannot read the time zone of %s: %s", user, type(exc).__name__)
            tz = None
        self._cache[user] = (time.monotonic() + self._ttl, tz if isinstance(tz, str) else None)
        return self._cache[user][1]


async def window(runbook: Runbook, user: str, args: tuple[str, ...], tz: str | None) -> str:
    """Show, declare or cancel the maintenance window."""
    if args and args[0].lower() == "cancel" and len(args) == 1:
        cancelled = await runbook.cancel_window(user)
        return f"Cancelled the window {said_text(cancelled.said())}."
    if len(args) == 2:
        declared = await runbook.declare_window(args[0], args[1], user, tz)
        text = f"Declared the maintenance window {said_text(declared.said())}. The purge runs only inside it."
        warning = await _restore_warning(runbook)
        return f"{text}\n:warning: {said_text(warning)}" if warning else text
    if args:
        raise RunbookError(
            "`window` takes nothing (show it), `START DURATION` (declare one, e.g. "
            "`/regclean window 2026-12-01T02:00+08:00 4h`), or `cancel`."
        )
    inside, coming, used = await runbook.window_now()
    if not used:
        return "No maintenance window is configured (REGCLEAN_WINDOWS) or declared: the purge may run at any time."
    lines = []
    if inside is not None:
        lines.append(f"Now is inside the window {said_text(inside.said())}.")
    if coming is not None:
        lines.append(f"Next window: {said_text(coming.said())}.")
    return (
        "\n".join(lines)
        or "Windows are in use, and none is open or coming up. Declare one: `/regclean window START DURATION`."
    )


async def _restore_warning(runbook: Runbook) -> Said | None:
    """Would the restore (core, then plugins, as expected to take) outlast the window it starts in?"""
    inside, coming, _ = await runbook.window_now()
    target = inside or coming
    expected = runbook.expected_restore()
    if target is None or expected is None:
        return None
    return outlast_said(target, runbook.now(), expected)


async def schedule(runbook: Runbook, user: str, args: tuple[str, ...]) -> str:
    """List what is scheduled, or cancel a scheduled purge."""
    if len(args) == 2 and args[0].lower() == "cancel" and args[1].lstrip("#").isdigit():
        return escape(await runbook.cancel_scheduled(int(args[1].lstrip("#")), user))
    if args:
        raise RunbookError(
            "`schedule` takes nothing (list) or `cancel ID` (the request of a scheduled purge)."
        )
    return schedule_text(await runbook.scheduled())


def schedule_text(jobs: list[Scheduled]) -> str:
    """One line per job, its time a Slack date."""
    if not jobs:
        return "Nothing is scheduled."
    lines = ["*Scheduled*"]
    for job in jobs:
        when = slack_date(job.at) if job.at else "paused"
        lines.append(f"• {when}: {_KIND.get(job.kind, job.kind).format(n=job.subject)}")
    return "\n".join(lines)


async def status(runbook: Runbook) -> tuple[str, list[Block]]:
    """The active run's checklist, what is scheduled, and the last finished run."""
    run, jobs, last = await runbook.overview()
    blocks: list[Block] = checklist_blocks(run) if run is not None else [section("No run is active.")]
    blocks.append(section(schedule_text(jobs)))
    if last is not None:
        run_id, state, closed = last
        blocks.append(section(f"Last finished run: #{run_id}, {state}, at {slack_date(closed)}."))
    text = f"Run #{run.id}" if run is not None else "No run is active. Start one with `/regclean inventory`."
    return text, blocks
