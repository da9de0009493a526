"""APScheduler, with its job store in the same database as the engine's state.

Jobs (approval expiry, maintenance windows) are added by later steps; they survive a restart
because the job store is persistent.
"""

from __future__ import annotations

import logging

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
