"""The scheduler's jobs as data, in the table `scheduled_jobs` (docs/architecture.md, "Windows and
the scheduler").

A row is a job id, the name of a callable on the allow-list in `bot/scheduler.py`, its arguments as
a JSON array of scalars, when it runs (ISO 8601, UTC) and how many seconds late it may still run
(NULL: however late). Nothing stored here is code, and nothing here interprets a row: `rows()` gives
each one back as the database holds it, and the scheduler checks it before anything runs.
APScheduler itself keeps its jobs in memory only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import CursorResult, delete, select

from bot.store.database import Database
from bot.store.schema import ScheduledJobRow

JobArg = int | str
"""What a job's arguments may be (JSON scalars; the allow-list says which for each callable)."""


@dataclass(frozen=True)
class StoredJob:
    """One row as stored, unchecked: SQLite keeps whatever was written, whatever the column's type."""

    id: str
    name: object
    args: object
    run_at: object
    misfire_grace: object


def stored_time(at: datetime) -> str:
    """How a run time is stored: ISO 8601 in UTC (so that two writes of one time compare equal)."""
    return at.astimezone(UTC).isoformat()


class JobTable:
    """The job definitions: put (replacing one of the same id), delete, read them all (blocking)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(
        self, job_id: str, name: str, args: Sequence[JobArg], run_at: datetime, misfire_grace: int | None
    ) -> None:
        """Keep a job's definition, replacing any of the same id."""
        with self._db.session() as s:
            s.merge(
                ScheduledJobRow(
                    id=job_id,
                    name=name,
                    args=json.dumps(list(args)),
                    run_at=stored_time(run_at),
                    misfire_grace=misfire_grace,
                )
            )

    def delete(self, job_id: str, run_at: datetime | None = None) -> bool:
        """Forget a job (only if it still runs at `run_at`, when given: a job that fired must not take
        its replacement with it); False when there was none."""
        query = delete(ScheduledJobRow).where(ScheduledJobRow.id == job_id)
        if run_at is not None:
            query = query.where(ScheduledJobRow.run_at == stored_time(run_at))
        with self._db.session() as s:
            return cast(CursorResult[object], s.execute(query)).rowcount > 0

    def rows(self) -> list[StoredJob]:
        """Every row, as stored."""
        t = ScheduledJobRow.__table__
        query = select(t.c.id, t.c.name, t.c.args, t.c.run_at, t.c.misfire_grace).order_by(t.c.id)
        with self._db.session() as s:
            return [StoredJob(str(row[0]), *row[1:]) for row in s.execute(query)]
