"""APScheduler, with its job store in the same database as the engine's state.

Jobs survive a restart because the job store is persistent. A job that fell due while the bot
was down is handled deliberately, by kind:
- an approval's expiry still runs (`misfire_grace_time=None`): a request never outlives its deadline;
- a scheduled purge still runs its job, and the job itself refuses to purge when it is late (the
  window has passed, or the bot was down at its start): nothing destructive starts on its own
  after a restart;
- a reminder that is more than a minute late is dropped by the scheduler: it would only be noise.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

#: how late a reminder may still be delivered
REMINDER_GRACE = 60


def make_scheduler(engine: Engine) -> AsyncIOScheduler:
    """A scheduler whose jobs live in the store's database (table `apscheduler_jobs`)."""
    store = SQLAlchemyJobStore(engine=engine)
    return AsyncIOScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": REMINDER_GRACE},
        timezone="UTC",
    )


class JobTarget(Protocol):
    """What the persisted jobs call back into: the running runbook."""

    async def expire_request(self, request_id: int) -> bool: ...

    async def remind_expiry(self, request_id: int) -> None: ...

    async def remind_window(self, request_id: int) -> None: ...

    async def purge_at_window(self, request_id: int, due: datetime) -> None: ...

    async def step_overdue(self, step_id: int) -> None: ...


# The job store keeps a job as a reference to an importable function plus its arguments, so a
# job survives a restart; the function reaches the runbook of the process that runs it here.
_target: JobTarget | None = None


def bind(target: JobTarget | None) -> None:
    """Point the persisted jobs at this process's runbook (None when it stops)."""
    global _target
    _target = target


async def _call(what: str, call: Callable[[JobTarget], Awaitable[object]]) -> None:
    if _target is None:
        log.warning("%s is due, but no runbook is running", what)
        return
    await call(_target)


async def expire_request(request_id: int) -> None:
    """The expiry job of an approval request."""
    await _call(f"the expiry of request #{request_id}", lambda t: t.expire_request(request_id))


async def remind_expiry(request_id: int) -> None:
    """Five minutes before an open request expires: tell the approvers who have not answered."""
    await _call(f"the expiry reminder of request #{request_id}", lambda t: t.remind_expiry(request_id))


async def remind_window(request_id: int) -> None:
    """Fifteen minutes before the window an approved purge waits for."""
    await _call(f"the window reminder of request #{request_id}", lambda t: t.remind_window(request_id))


async def purge_at_window(request_id: int, due: str) -> None:
    """The approved purge of a request, at its window's start (`due`, ISO 8601)."""
    when = datetime.fromisoformat(due)
    await _call(
        f"the scheduled purge of request #{request_id}", lambda t: t.purge_at_window(request_id, when)
    )


async def step_overdue(step_id: int) -> None:
    """A step's expected duration has passed: say so if it is still running."""
    await _call(f"the overrun check of step #{step_id}", lambda t: t.step_overdue(step_id))


@dataclass(frozen=True)
class Scheduled:
    """A job as `/regclean schedule` lists it."""

    id: str
    kind: str
    """`purge`, `expiry`, `reminder` or `overrun`."""
    subject: int
    """The request or step it is about."""
    at: datetime | None
    """When it runs next (None: paused)."""


_KINDS = {
    "purge-at-window": "purge",
    "expire-request": "expiry",
    "remind-expiry": "reminder",
    "remind-window": "reminder",
    "step-overdue": "overrun",
}


class Jobs:
    """The runbook's jobs in the persistent scheduler, one id per job so that scheduling twice replaces."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self._scheduler = scheduler

    def _add(
        self, fn: Callable[..., Awaitable[None]], job_id: str, at: datetime, args: list[Any], **kw: Any
    ) -> None:
        self._scheduler.add_job(fn, "date", run_date=at, args=args, id=job_id, replace_existing=True, **kw)

    def expire(self, request_id: int, at: datetime) -> None:
        """Expire a request at its deadline; a deadline missed while the bot was down still expires it."""
        self._add(expire_request, f"expire-request-{request_id}", at, [request_id], misfire_grace_time=None)

    def remind_expiry(self, request_id: int, at: datetime) -> None:
        """Remind the approvers who have not answered, at `at`."""
        self._add(remind_expiry, f"remind-expiry-{request_id}", at, [request_id])

    def remind_window(self, request_id: int, at: datetime) -> None:
        """Remind the channel that a window starts soon and an approved purge waits for it."""
        self._add(remind_window, f"remind-window-{request_id}", at, [request_id])

    def purge_at(self, request_id: int, at: datetime) -> None:
        """Run the approved purge at `at` (the job itself refuses when it runs late)."""
        self._add(
            purge_at_window,
            f"purge-at-window-{request_id}",
            at,
            [request_id, at.isoformat()],
            misfire_grace_time=None,
        )

    def watch_step(self, step_id: int, at: datetime) -> None:
        """Check at `at` whether the step still runs."""
        self._add(step_overdue, f"step-overdue-{step_id}", at, [step_id])

    def cancel(self, job_id: str) -> bool:
        """Remove a job; False when there was none."""
        if self._scheduler.get_job(job_id) is None:
            return False
        self._scheduler.remove_job(job_id)
        return True

    def cancel_request(self, request_id: int) -> None:
        """Remove every job of a request (it was rejected, expired, voided or started)."""
        for prefix in ("expire-request", "remind-expiry", "remind-window", "purge-at-window"):
            self.cancel(f"{prefix}-{request_id}")

    def scheduled(self) -> list[Scheduled]:
        """Every job, soonest first."""
        jobs = []
        for job in self._scheduler.get_jobs():
            prefix, _, subject = str(job.id).rpartition("-")
            if prefix in _KINDS and subject.isdigit():
                jobs.append(Scheduled(job.id, _KINDS[prefix], int(subject), job.next_run_time))
        return sorted(jobs, key=lambda j: (j.at is None, j.at or datetime.max))
