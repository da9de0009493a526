"""When the approved purge runs: now inside a window, or at the next window's start; and the reminders
and warnings around it (docs/architecture.md, "Windows and the scheduler").

Times are decided in UTC from the one clock; people see them in their own Slack time zone. Every
job is persistent (`bot/scheduler.py`), and each one checks when it runs whether it is still of
use: nothing destructive starts late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from bot.core.errors import RunbookError
from bot.core.model import Notice, StepState
from bot.core.notifier import Requester
from bot.scheduler import Scheduled
from bot.steps.approval.model import RequestState, RequestView
from bot.steps.approval.step import ApprovalStep
from bot.steps.context import StepContext
from bot.steps.purge.model import PurgeChoice
from bot.steps.schedule.calendar import Calendar
from bot.steps.schedule.windows import finish_past

log = logging.getLogger(__name__)

#: how late a scheduled purge may still start (the scheduler's own delay, not a bot that was down)
PURGE_GRACE = timedelta(minutes=2)
WINDOW_REMINDER = timedelta(minutes=15)

StartPurge = Callable[[int, Requester], Coroutine[Any, Any, None]]


class ScheduleStep:
    """The approved purge's start, `/regclean schedule`, reminders and step overrun warnings."""

    def __init__(
        self, ctx: StepContext, calendar: Calendar, approval: ApprovalStep, start_purge: StartPurge
    ) -> None:
        self._ctx = ctx
        self._calendar = calendar
        self._approval = approval
        self._start_purge = start_purge

    # the approved request ---------------------------------------------------
    async def offer_choice(self, view: RequestView) -> bool:
        """With windows in use, the requester chooses: now (inside a window) or at the next window's
        start. False when no windows are in use: the purge starts now."""
        now = await self._calendar.now()
        if not now.used:
            return False
        inside, coming = now.inside, now.coming
        if inside is not None:
            coming = None  # the approved plan names this window: "at the next window's start" would void it
        note = None
        if coming is not None and coming.start >= view.expires_at:
            note = Notice(
                "The approval expires at {0}, before the next window starts at {1}: ask for the purge again "
                "closer to the window.",
                (view.expires_at, coming.start),
            )
        elif inside is None and coming is None:
            note = Notice("No window is coming up: declare one with `/regclean window START DURATION`.")
        run = await self._ctx.engine.db(self._ctx.store.run, view.run_id)
        if run is not None:
            await self._ctx.engine.tell(
                self._ctx.notifier.purge_choice(run, PurgeChoice(view, inside, coming, note))
            )
        return True

    async def purge_now(self, request_id: int, user: str) -> str:
        """The requester's "Purge now": the gates (the window among them) are checked again as it starts."""
        view = await self._approval.approved_for(request_id, user)
        now = await self._calendar.now()
        if now.used and now.inside is None:
            later = " Choose the window's start instead." if now.coming is not None else ""
            raise RunbookError(
                f"Now is outside every maintenance window, so the purge cannot start now.{later}"
            )
        detail = {"request": request_id, "fingerprint": view.fingerprint}
        await self._ctx.engine.db(self._ctx.store.audit, user, "purge.now", view.run_id, detail)
        run = await self._ctx.engine.db(self._ctx.store.run, view.run_id)
        self._ctx.engine.spawn(self._start_purge(request_id, Requester(user, run.channel if run else None)))
        return "Starting the purge: the gates and the plan are checked once more first."

    async def purge_at_window_start(self, request_id: int, user: str) -> str:
        """The requester's "Purge at window start": a persistent job, and a reminder 15 minutes before."""
        ctx, engine = self._ctx, self._ctx.engine
        view = await self._approval.approved_for(request_id, user)
        now = await self._calendar.now()
        if now.inside is not None:  # the approved plan names this window; a later one would void it
            raise RunbookError(
                "A maintenance window is open now: purge now, inside the window the plan names."
            )
        coming = now.coming
        if coming is None:
            raise RunbookError("No window is coming up; declare one with `/regclean window START DURATION`.")
        if coming.start >= view.expires_at:
            raise RunbookError(
                "The approval expires before the next window starts; ask for the purge again later."
            )
        jobs = ctx.jobs
        if jobs is None:
            raise RunbookError("This regclean runs without a scheduler; purge now instead.")
        await engine.db(jobs.purge_at, request_id, coming.start)
        if coming.start - WINDOW_REMINDER > ctx.clock.now():
            await engine.db(jobs.remind_window, request_id, coming.start - WINDOW_REMINDER)
        detail = {"at": coming.start.isoformat(), "fingerprint": view.fingerprint}
        await engine.db(self._ctx.store.audit, user, "purge.scheduled", view.run_id, detail)
        await self._ctx.engine.notice(
            view.run_id,
            Notice(
                f"chose the window's start for the approved purge of request #{request_id}: it runs at {{0}}. "
                f"`/regclean schedule cancel {request_id}` cancels it.",
                (coming.start,),
                (user,),
            ),
        )
        return f"Scheduled: the purge of request #{request_id} runs when the window starts."

    # what is scheduled ---------------------------------------------------------
    def live_jobs(self) -> list[Scheduled]:
        """The jobs, less those whose request closed or whose step finished (they only wait to find
        that out when they run). Blocking: one worker thread does all of it, so that `/regclean
        status` costs the event loop one hop, not one per job."""
        jobs = self._ctx.jobs
        if jobs is None:
            return []
        live = []
        for job in jobs.scheduled():
            if job.kind == "overrun":
                keep = self._ctx.store.run_step(job.subject).state is StepState.RUNNING
            else:
                state = self._approval.approvals.get(job.subject).state
                keep = state in (RequestState.OPEN, RequestState.APPROVED)
            if keep:
                live.append(job)
        return live

    async def scheduled(self) -> list[Scheduled]:
        """Every job that still matters, soonest first."""
        return await self._ctx.engine.db(self.live_jobs)

    async def cancel_scheduled(self, request_id: int, user: str) -> str:
        """`/regclean schedule cancel ID`: the scheduled purge of request ID, and its reminder (audited)."""
        engine, jobs = self._ctx.engine, self._ctx.jobs
        if jobs is None or not await engine.db(jobs.cancel, f"purge-at-window-{request_id}"):
            raise RunbookError(
                f"No purge is scheduled for request #{request_id}; `/regclean schedule` lists them."
            )
        await engine.db(jobs.cancel, f"remind-window-{request_id}")
        view = await self._approval.get(request_id)
        await engine.db(
            self._ctx.store.audit,
            user,
            "purge.schedule.cancelled",
            view.run_id,
            {"request": request_id, "fingerprint": view.fingerprint},
        )
        await self._ctx.engine.notice(
            view.run_id,
            Notice(f"cancelled the scheduled purge of request #{request_id}.", (), (user,)),
        )
        return f"Cancelled the scheduled purge of request #{request_id}. The request stays approved until it expires."

    # jobs ------------------------------------------------------------------
    async def purge_at_window(self, request_id: int, due: datetime) -> None:
        """The scheduled purge: it runs only on time; a late one (the bot was down) is said, not run."""
        ctx, engine = self._ctx, self._ctx.engine
        view = await self._approval.get(request_id)
        late = ctx.clock.now() - due
        if view.state != RequestState.APPROVED:
            log.info("scheduled purge of request #%d dropped: the request is %s", request_id, view.state)
            return
        if late > PURGE_GRACE:
            await engine.db(
                self._ctx.store.audit,
                "regclean",
                "purge.schedule.missed",
                view.run_id,
                {"request": request_id, "due": due.isoformat(), "fingerprint": view.fingerprint},
            )
            await self._ctx.engine.notice(
                view.run_id,
                Notice(
                    f"The purge of request #{request_id} was scheduled for {{0}}, but regclean was not running "
                    f"then. It was not started ({late.total_seconds() / 60:.0f} min late): nothing was deleted. "
                    "Choose again in the approval's thread (inside a window), or ask for a new request.",
                    (due,),
                    (view.requester,),
                    mention=True,
                ),
            )
            return
        run = await engine.db(ctx.store.run, view.run_id)
        # A task of the engine, like a click's: a stop marks it interrupted, and drain() waits for it.
        engine.spawn(self._start_purge(request_id, Requester(view.requester, run.channel if run else None)))

    async def remind_window(self, request_id: int) -> None:
        """Fifteen minutes before the window an approved purge waits for."""
        engine, jobs = self._ctx.engine, self._ctx.jobs
        view = await self._approval.get(request_id)
        if view.state != RequestState.APPROVED or jobs is None:
            return
        scheduled = await engine.db(jobs.scheduled)
        job = next((j for j in scheduled if j.id == f"purge-at-window-{request_id}"), None)
        if job is None or job.at is None:
            return
        await self._ctx.engine.notice(
            view.run_id,
            Notice(
                f"The maintenance window starts at {{0}}; the approved purge of request #{request_id} starts then.",
                (job.at,),
                (view.requester, *view.approvals),
                mention=True,
            ),
        )

    async def step_overdue(self, step_id: int) -> None:
        """A step running longer than expected: say so once, mentioning whoever asked for it."""
        step = await self._ctx.engine.db(self._ctx.store.run_step, step_id)
        if step.state is not StepState.RUNNING:
            return  # finished, or interrupted by a restart: nothing to say any more
        minutes = int((self._ctx.clock.now() - step.started_at).total_seconds() // 60)
        text = (
            f"The {step.name} step, started at {{0}}, has been running for {minutes} min, longer than expected. "
            "Check on it; regclean does not stop it on its own."
        )
        await self._ctx.engine.notice(
            step.run_id, Notice(text, (step.started_at,), (step.requested_by,), mention=True)
        )

    async def warn_if_outlasting(self, run_id: int, requester: str) -> None:
        """A restore starting now that would run past the window's end gets a warning (it is not refused)."""
        now = await self._calendar.now()
        expected = self._calendar.expected_restore()
        if not now.used or expected is None:
            return
        if now.inside is None:
            text = "started a restore while no maintenance window is open; it runs anyway, as the registry needs it."
            await self._ctx.engine.notice(run_id, Notice(text, (), (requester,)))
            return
        finish = finish_past(now.inside, self._ctx.clock.now(), expected)
        if finish is not None:
            await self._ctx.engine.notice(
                run_id,
                Notice(
                    "started a restore that is expected to take until about {0}, past the window's end at {1}. "
                    "It runs anyway; tell whoever watches the platform.",
                    (finish, now.inside.end),
                    (requester,),
                ),
            )
