"""APScheduler, with its job store in the same database as the engine's state.

Jobs (approval expiry, maintenance windows) are added by later steps; they survive a restart
because the job store is persistent.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def make_scheduler(engine: Engine) -> AsyncIOScheduler:
    """A scheduler whose jobs live in the store's database (table `apscheduler_jobs`)."""
    store = SQLAlchemyJobStore(engine=engine)
    return AsyncIOScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )


class JobTarget(Protocol):
    """What the persisted jobs call back into: the running runbook."""

    async def expire_request(self, request_id: int) -> bool: ...


# The job store keeps a job as a reference to an importable function plus its arguments, so a
# job survives a restart; the function reaches the runbook of the process that runs it here.
_target: JobTarget | None = None


def bind(target: JobTarget | None) -> None:
    """Point the persisted jobs at this process's runbook (None when it stops)."""
    global _target
    _target = target


async def expire_request(request_id: int) -> None:
    """The expiry job of an approval request."""
    if _target is None:
        log.warning("approval request #%d is due to expire, but no runbook is running", request_id)
        return
    await _target.expire_request(request_id)


def schedule_expiry(scheduler: AsyncIOScheduler, request_id: int, at: datetime) -> None:
    """Expire a request at its deadline; a deadline missed while the bot was down still expires it."""
    scheduler.add_job(
        expire_request,
        "date",
        run_date=at,
        args=[request_id],
        id=f"expire-request-{request_id}",
        replace_existing=True,
        misfire_grace_time=None,
    )
