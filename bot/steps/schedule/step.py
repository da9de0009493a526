"""Maintenance windows, the purge at a window's start, reminders and overrun warnings (issue 6).

Times are decided here in UTC from the engine's clock (a test sets it); people see them in their
own Slack time zone, which the handlers look up. Every job is persistent (bot/scheduler.py), and
each one checks when it runs whether it is still of use: nothing destructive starts late.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.errors import RunbookError
from bot.core.model import StepState
from bot.core.notifier import Notice, Requester
from bot.scheduler import Scheduled
from bot.steps.approval.model import RequestState, RequestView
from bot.steps.purge.model import PurgeChoice
from bot.steps.purge.step import PurgeSteps
from bot.steps.schedule.windows import Window, finish_past, next_window, parse_window, window_at

log = logging.getLogger(__name__)

#: how late a scheduled purge may still start (the scheduler's own delay, not a bot that was down)
PURGE_GRACE = timedelta(minutes=2)
WINDOW_REMINDER = timedelta(minutes=15)


class ScheduleSteps(PurgeSteps):
    """Windows, the scheduled purge, reminders and step overrun warnings."""

    # windows ---------------------------------------------------------------
    async def declare_window(self, start: str, duration: str, user: str, tz: str | None) -> Window:
        """`/regclean window START DURATION`: the window in force from now on (audited)."""
        window = parse_window(start, duration, self._clock.now(), declared_by=user, tz=tz)
        return await self._db(self._windows.declare, window, user)

    async def cancel_window(self, user: str) -> Window:
        """`/regclean window cancel` (audited)."""
        cancelled = await self._db(self._windows.cancel, user)
        if cancelled is None:
            raise RunbookError("No window is declared; there is nothing to cancel.")
        return cancelled

    async def window_now(self) -> tuple[Window | None, Window | None, bool]:
        """The window now is in, the next one, and whether windows are in use at all."""
        declared, recurring = await self.windows()
        now = self._clock.now()
        return (
            window_at(now, declared, recurring),
            next_window(now, declared, recurring),
            bool(declared or recurring),
        )

    def now(self) -> datetime:
        """The engine's time."""
        return self._clock.now()

    def expected_restore(self) -> timedelta | None:
        """How long the core and the plugin restore are expected to take together."""
        core, plugins = self._expected("restore_core"), self._expected("restore_plugins")
        return core + plugins if core is not None and plugins is not None else None

    async def _warn_if_outlasting(self, run_id: int, requester: str) -> None:
        """A restore starting now that would run past the window's end gets a warning (it is not refused)."""
        inside, _, used = await self.window_now()
        expected = self.expected_restore()
        if not used or expected is None:
            return
        if inside is None:
            text = "No maintenance window is open now; the restore runs anyway, as the registry needs it."
            await self._notify(run_id, Notice(f":warning: {text}", (), (requester,)))
            return
        finish = finish_past(inside, self._clock.now(), expected)
        if finish is not None:
            await self._notify(
                run_id,
                Notice(
                    "The restore is expected to take until about {0}, past the window's end at {1}. "
                    "It runs anyway; tell whoever watches the platform.",
                    (finish, inside.end),
                    (requester,),
                ),
            )

    # the approved request ---------------------------------------------------
    async def _approved(self, view: RequestView, requester: Requester) -> None:
        """With windows in use, the requester chooses: now (inside a window) or at the next window's start."""
        inside, coming, used = await self.window_now()
        if not used:
            await super()._approved(view, requester)
            return
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
        run = await self._db(self._store.run, view.run_id)
        if run is not None:
            await self._call(self._notifier.purge_choice(run, PurgeChoice(view, inside, coming, note)))

    async def purge_now(self, request_id: int, user: str) -> str:
        """The requester's "Purge now": the gates (the window among them) are checked again as it starts."""
        view = await self._requester_only(request_id, user)
        inside, coming, used = await self.window_now()
        if used and inside is None:
            later = " Choose the window's start instead." if coming is not None else ""
            raise RunbookError(
                f"Now is outside every maintenance window, so the purge cannot start now.{later}"
            )
        run = await self._db(self._store.run, view.run_id)
        self._spawn(self._start_purge(request_id, Requester(user, run.channel if run else None)))
        return "Starting the purge: the gates and the plan are checked once more first."

    async def purge_at_window_start(self, request_id: int, user: str) -> str:
        """The requester's "Purge at window start": a persistent job, and a reminder 15 minutes before."""
        view = await self._requester_only(request_id, user)
        inside, coming, _ = await self.window_now()
        if inside is not None:  # the approved plan names this window; a later one would void it
            raise RunbookError(
                "A maintenance window is open now: purge now, inside the window the plan names."
            )
        if coming is None:
            raise RunbookError("No window is coming up; declare one with `/regclean window START DURATION`.")
        if coming.start >= view.expires_at:
            raise RunbookError(
                "The approval expires before the next window starts; ask for the purge again later."
            )
        if self._jobs is None:
            raise RunbookError("This regclean runs without a scheduler; purge now instead.")
        await self._db(self._jobs.purge_at, request_id, coming.start)
        if coming.start - WINDOW_REMINDER > self._clock.now():
            await self._db(self._jobs.remind_window, request_id, coming.start - WINDOW_REMINDER)
        detail = {"at": coming.start.isoformat(), "fingerprint": view.fingerprint}
        await self._db(self._records.audit, user, "purge.scheduled", view.run_id, detail)
        await self._notify(
            view.run_id,
            Notice(
                f"The approved purge of request #{request_id} is scheduled for the window's start, {{0}}. "
                f"`/regclean schedule cancel {request_id}` cancels it.",
                (coming.start,),
                (user,),
            ),
        )
        return f"Scheduled: the purge of request #{request_id} runs when the window starts."

    async def _requester_only(self, request_id: int, user: str) -> RequestView:
        view = await self._db(self._approvals.get, request_id)
        if view.state == RequestState.APPROVED and self._clock.now() >= view.expires_at:
            await self.expire_request(request_id)
            view = await self._db(self._approvals.get, request_id)
        if view.state != RequestState.APPROVED:
            raise RunbookError(f"Request #{request_id} is {view.state}, not waiting to start.")
        if user != view.requester:
            raise RunbookError("Only the person who asked for the purge chooses when it runs.")
        return view

    # what is scheduled ---------------------------------------------------------
    async def scheduled(self) -> list[Scheduled]:
        """Every job that still matters, soonest first."""
        return await self._db(self._live_jobs)

    def _live_jobs(self) -> list[Scheduled]:
        """The jobs, less those whose request closed or whose step finished (they only wait to find
        that out when they run). Blocking: one worker thread does all of it, so that `/regclean
        status` costs the event loop one hop, not one per job."""
        if self._jobs is None:
            return []
        live = []
        for job in self._jobs.scheduled():
            if job.kind == "overrun":
                keep = self._store.run_step(job.subject).state is StepState.RUNNING
            else:
                keep = self._approvals.get(job.subject).state in (RequestState.OPEN, RequestState.APPROVED)
            if keep:
                live.append(job)
        return live

    async def cancel_scheduled(self, request_id: int, user: str) -> str:
        """`/regclean schedule cancel ID`: the scheduled purge of request ID, and its reminder (audited)."""
        if self._jobs is None or not await self._db(self._jobs.cancel, f"purge-at-window-{request_id}"):
            raise RunbookError(
                f"No purge is scheduled for request #{request_id}; `/regclean schedule` lists them."
            )
        await self._db(self._jobs.cancel, f"remind-window-{request_id}")
        view = await self._db(self._approvals.get, request_id)
        await self._db(
            self._records.audit, user, "purge.schedule.cancelled", view.run_id, {"request": request_id}
        )
        await self._notify(
            view.run_id,
            Notice(
                f"The scheduled purge of request #{request_id} was cancelled.", (), (view.requester, user)
            ),
        )
        return f"Cancelled the scheduled purge of request #{request_id}. The request stays approved until it expires."

    # jobs ------------------------------------------------------------------
    async def purge_at_window(self, request_id: int, due: datetime) -> None:
        """The scheduled purge: it runs only on time; a late one (the bot was down) is said, not run."""
        view = await self._db(self._approvals.get, request_id)
        late = self._clock.now() - due
        if view.state != RequestState.APPROVED:
            log.info("scheduled purge of request #%d dropped: the request is %s", request_id, view.state)
            return
        if late > PURGE_GRACE:
            await self._db(
                self._records.audit,
                "regclean",
                "purge.schedule.missed",
                view.run_id,
                {"due": due.isoformat()},
            )
            await self._notify(
                view.run_id,
                Notice(
                    f"The purge of request #{request_id} was scheduled for {{0}}, but regclean was not running "
                    f"then. It was not started ({late.total_seconds() / 60:.0f} min late): nothing was deleted. "
                    "Choose again in the approval's thread (inside a window), or ask for a new request.",
                    (due,),
                    (view.requester,),
                ),
            )
            return
        run = await self._db(self._store.run, view.run_id)
        # A task of the engine, like a click's: a stop marks it interrupted, and drain() waits for it.
        self._spawn(self._start_purge(request_id, Requester(view.requester, run.channel if run else None)))

    async def remind_expiry(self, request_id: int) -> None:
        """Five minutes before an open request expires: mention the approvers who have not answered."""
        view = await self._db(self._approvals.get, request_id)
        if view.state != RequestState.OPEN:
            return
        settings = self._need_settings()
        waiting = [a for a in settings.approvers if a not in view.approvals]
        if not settings.allow_self_approval:
            waiting = [a for a in waiting if a != view.requester]
        needed = view.required - len(view.approvals)
        await self._notify(
            view.run_id,
            Notice(
                f"Purge request #{request_id} expires at {{0}} and needs {needed} more approval(s).",
                (view.expires_at,),
                tuple(waiting),
            ),
        )

    async def remind_window(self, request_id: int) -> None:
        """Fifteen minutes before the window an approved purge waits for."""
        view = await self._db(self._approvals.get, request_id)
        if view.state != RequestState.APPROVED or self._jobs is None:
            return
        jobs = await self._db(self._jobs.scheduled)
        job = next((j for j in jobs if j.id == f"purge-at-window-{request_id}"), None)
        if job is None or job.at is None:
            return
        await self._notify(
            view.run_id,
            Notice(
                f"The maintenance window starts at {{0}}; the approved purge of request #{request_id} starts then.",
                (job.at,),
                (view.requester, *view.approvals),
            ),
        )

    async def step_overdue(self, step_id: int) -> None:
        """A step running longer than expected: say so once, mentioning whoever asked for it."""
        step = await self._db(self._store.run_step, step_id)
        if step.state is not StepState.RUNNING:
            return  # finished, or interrupted by a restart: nothing to say any more
        minutes = int((self._clock.now() - step.started_at).total_seconds() // 60)
        text = (
            f"The {step.name} step, started at {{0}}, has been running for {minutes} min, longer than expected. "
            "Check on it; regclean does not stop it on its own."
        )
        await self._notify(step.run_id, Notice(text, (step.started_at,), (step.requested_by,)))

    async def _notify(self, run_id: int, notice: Notice) -> None:
        run = await self._db(self._store.run, run_id)
        if run is not None:
            people = tuple(dict.fromkeys(notice.people))
            await self._call(self._notifier.notice(run, Notice(notice.text, notice.times, people)))
