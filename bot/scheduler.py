"""APScheduler, with its jobs in memory and their definitions as data in the store's
`scheduled_jobs` (`bot/store/jobs.py`; docs/architecture.md, "Windows and the scheduler").

A row names a callable of this module's allow-list (`ALLOWED`) and its arguments as JSON scalars;
nothing stored is ever unpickled or imported. At start-up `Jobs.restore()` checks every row and
rebuilds the jobs in the scheduler's memory; a row that is not a job regclean runs is refused with
one log line and never run. A job that fell due while the bot was down is handled by kind:
- an approval's expiry still runs (no grace limit): a request never outlives its deadline;
- a scheduled purge still runs its job, and the job itself refuses to purge when it is late (the
  window has passed, or the bot was down at its start): nothing destructive starts on its own
  after a restart;
- a reminder or overrun check more than `REMINDER_GRACE` late is dropped: it would only be noise.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.store.jobs import JobArg, JobTable, StoredJob

log = logging.getLogger(__name__)

#: how late (seconds) a reminder or an overrun check may still be delivered
REMINDER_GRACE = 60


def make_scheduler() -> AsyncIOScheduler:
    """A scheduler whose jobs live in memory; `Jobs` keeps their definitions in the store."""
    return AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="UTC",
    )


class JobTarget(Protocol):
    """What the jobs call back into: the running runbook."""

    async def expire_request(self, request_id: int) -> bool: ...

    async def remind_expiry(self, request_id: int) -> None: ...

    async def remind_window(self, request_id: int) -> None: ...

    async def purge_at_window(self, request_id: int, due: datetime) -> None: ...

    async def step_overdue(self, step_id: int) -> None: ...


# A job names one of the functions below (by its name in `ALLOWED`); the function reaches the
# runbook of the process that runs it here.
_target: JobTarget | None = None


def bind(target: JobTarget | None) -> None:
    """Point the jobs at this process's runbook (None when it stops)."""
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
class Allowed:
    """A callable a stored job may name, with what its arguments must be."""

    fn: Callable[..., Awaitable[None]]
    prefix: str
    """Its jobs' ids: `PREFIX-SUBJECT`, the subject being the first argument."""
    kind: str
    """How `/regclean schedule` lists it: `purge`, `expiry`, `reminder` or `overrun`."""
    args: tuple[type[int] | type[datetime], ...]
    """Each argument: an integer, or a time (stored as ISO 8601 text with its offset)."""


#: the only callables a stored job may name
ALLOWED: dict[str, Allowed] = {
    "expire_request": Allowed(expire_request, "expire-request", "expiry", (int,)),
    "remind_expiry": Allowed(remind_expiry, "remind-expiry", "reminder", (int,)),
    "remind_window": Allowed(remind_window, "remind-window", "reminder", (int,)),
    "purge_at_window": Allowed(purge_at_window, "purge-at-window", "purge", (int, datetime)),
    "step_overdue": Allowed(step_overdue, "step-overdue", "overrun", (int,)),
}
_BY_PREFIX = {allowed.prefix: allowed for allowed in ALLOWED.values()}


@dataclass(frozen=True)
class JobDef:
    """A stored job that passed the checks: it names an allowed callable, with arguments it takes."""

    id: str
    name: str
    args: tuple[JobArg, ...]
    run_at: datetime
    misfire_grace: int | None
    """Seconds late it may still run (None: however late)."""


class RefusedJob(ValueError):
    """A stored job that is not a job regclean runs; the message says why."""


def job_def(row: StoredJob) -> JobDef:
    """Check one stored row (RefusedJob, naming the problem, when it is not a job regclean runs)."""
    name = row.name if isinstance(row.name, str) else ""
    allowed = ALLOWED.get(name)
    if allowed is None:
        raise RefusedJob(f"it names {_short(row.name)}, which is not one of {', '.join(ALLOWED)}")
    try:
        args = json.loads(row.args) if isinstance(row.args, str) else None
    except ValueError:
        args = None
    if not isinstance(args, list) or len(args) != len(allowed.args):
        raise RefusedJob(f"its arguments are not a JSON array of {len(allowed.args)} for {name}")
    for position, (arg, kind) in enumerate(zip(args, allowed.args, strict=True), 1):
        if not (_is_time(arg) if kind is datetime else isinstance(arg, int) and not isinstance(arg, bool)):
            raise RefusedJob(
                f"its argument {position} is not {'a time' if kind is datetime else 'an integer'}"
            )
    if row.id != f"{allowed.prefix}-{args[0]}":
        raise RefusedJob(f"its id is not {allowed.prefix}-{args[0]}, as its callable and arguments make it")
    if not _is_time(row.run_at):
        raise RefusedJob("its run time is not an ISO 8601 time with an offset")
    grace = row.misfire_grace
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool) or grace < 0):
        raise RefusedJob("its misfire grace is not a number of seconds")
    return JobDef(row.id, name, tuple(args), datetime.fromisoformat(str(row.run_at)), grace)


def _is_time(value: object) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


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


class Jobs:
    """The runbook's jobs: each one a row of `scheduled_jobs` and a job in the scheduler's memory, one
    id per job so that scheduling twice replaces (blocking: the table is written at once)."""

    def __init__(self, scheduler: AsyncIOScheduler, table: JobTable) -> None:
        self._scheduler = scheduler
        self._table = table

    def restore(self) -> int:
        """At start-up, before the scheduler starts: every stored job back into the scheduler's memory.
        A row that is not a job regclean runs is refused with one log line, and left where it is."""
        restored = 0
        for row in self._table.rows():
            try:
                job = job_def(row)
            except RefusedJob as refused:
                log.warning("scheduled job %s refused, not run: %s", _short(row.id), refused)
                continue
            self._schedule(job)
            restored += 1
        return restored

    def _add(self, name: str, at: datetime, args: list[JobArg], grace: int | None = REMINDER_GRACE) -> None:
        job = JobDef(f"{ALLOWED[name].prefix}-{args[0]}", name, tuple(args), at, grace)
        self._table.put(job.id, job.name, job.args, job.run_at, job.misfire_grace)
        self._schedule(job)

    def _schedule(self, job: JobDef) -> None:
        self._scheduler.add_job(
            self._fire(job), "date", run_date=job.run_at, id=job.id, name=job.name, replace_existing=True
        )

    def _fire(self, job: JobDef) -> Callable[[], Awaitable[None]]:
        async def fire() -> None:
            # Gone from the scheduler's memory once it fires; gone from the table too, unless replaced.
            # A row that is no longer there was cancelled or replaced by another process on the same
            # database (`regclean schedule cancel` while this bot was stopped): the job does not run.
            if not await asyncio.to_thread(self._table.delete, job.id, job.run_at):
                log.info("%s not run: its row is gone (cancelled or rescheduled elsewhere)", job.id)
                return
            late = (datetime.now(UTC) - job.run_at).total_seconds()
            if job.misfire_grace is not None and late > job.misfire_grace:
                log.info("%s dropped: it is %.0f s late, more than %d s", job.id, late, job.misfire_grace)
                return
            await ALLOWED[job.name].fn(*job.args)

        return fire

    def expire(self, request_id: int, at: datetime) -> None:
        """Expire a request at its deadline; a deadline missed while the bot was down still expires it."""
        self._add("expire_request", at, [request_id], grace=None)

    def remind_expiry(self, request_id: int, at: datetime) -> None:
        """Remind the approvers who have not answered, at `at`."""
        self._add("remind_expiry", at, [request_id])

    def remind_window(self, request_id: int, at: datetime) -> None:
        """Remind the channel that a window starts soon and an approved purge waits for it."""
        self._add("remind_window", at, [request_id])

    def purge_at(self, request_id: int, at: datetime) -> None:
        """Run the approved purge at `at` (the job itself refuses when it runs late)."""
        self._add("purge_at_window", at, [request_id, at.isoformat()], grace=None)

    def watch_step(self, step_id: int, at: datetime) -> None:
        """Check at `at` whether the step still runs."""
        self._add("step_overdue", at, [step_id])

    def cancel(self, job_id: str) -> bool:
        """Remove a job, stored or scheduled; False when there was none."""
        stored = self._table.delete(job_id)
        if self._scheduler.get_job(job_id) is None:
            return stored
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
            if prefix in _BY_PREFIX and subject.isdigit():
                jobs.append(Scheduled(job.id, _BY_PREFIX[prefix].kind, int(subject), job.next_run_time))
        return sorted(jobs, key=lambda j: (j.at is None, j.at or datetime.max))
