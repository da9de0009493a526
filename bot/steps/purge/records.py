"""What the purge leaves in the store: the bucket before and after, and the registry's restart."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import select

from actions.minio import PurgeResult
from bot.store.database import Database
from bot.store.schema import PurgeRow, aware


class PurgeRecords:
    """Each purge's result, by run."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, run_id: int, step_id: int, request_id: int, result: PurgeResult) -> None:
        """Store what a purge did."""
        with self._db.session() as s:
            s.add(
                PurgeRow(
                    run_id=run_id,
                    step_id=step_id,
                    request_id=request_id,
                    result=dataclasses.asdict(result),
                    finished_at=self._db.clock.now(),
                )
            )

    def latest(self, run_id: int) -> tuple[PurgeResult, datetime] | None:
        """The run's newest purge result and when it finished."""
        with self._db.session() as s:
            query = select(PurgeRow).where(PurgeRow.run_id == run_id).order_by(PurgeRow.id.desc())
            row = s.scalars(query.limit(1)).first()
            if row is None:
                return None
            data = dict(row.result)
            data["restarted"] = tuple(data.get("restarted") or ())
            return PurgeResult(**data), aware(row.finished_at)
