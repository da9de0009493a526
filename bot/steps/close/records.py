"""What closing a run reads and leaves in the store: the approved snapshot, the final report, the run's end.

The close step's success, its report and the run's final state are written in one transaction:
a bot that dies half way leaves either an active run to close again or a closed one, never a
closed run whose report is missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from bot.core.model import RunState, SnapshotView, StepState
from bot.steps.approval.model import RequestState
from bot.steps.close.report import FinalReport, report_from_dict, report_to_dict
from bot.steps.inventory.codec import decode_inventory
from bot.store.database import Database
from bot.store.schema import ApprovalRequestRow, AuditRow, InventoryRow, ResultRow, RunRow, StepRow, aware


class CloseRecords:
    """Reads and writes of the close of a run."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def snapshot(self, snapshot_id: int) -> SnapshotView | None:
        """An inventory snapshot by id, decoded."""
        with self._db.session() as s:
            row = s.get(InventoryRow, snapshot_id)
            if row is None:
                return None
            inventory = decode_inventory(row.data)
            return SnapshotView(row.id, row.run_id, aware(row.recorded_at), row.recorded_by, inventory)

    def purge_request(self, run_id: int) -> int | None:
        """The approval request the run's purge started from (claimed, even if the purge was then cut off)."""
        with self._db.session() as s:
            query = select(ApprovalRequestRow.id).where(
                ApprovalRequestRow.run_id == run_id, ApprovalRequestRow.state == RequestState.STARTED
            )
            return s.scalars(query.order_by(ApprovalRequestRow.id.desc()).limit(1)).first()

    def close(self, step_id: int, report: FinalReport, summary: str) -> bool:
        """The close step succeeded, its report stored, the run ended; False when the step was not running
        (stopped meanwhile) or the run no longer active, and then nothing is written."""
        state = RunState(report.state)
        now = self._db.clock.now()
        try:
            self._close(step_id, report, summary, state, now)
        except _NotClosed:
            return False
        return True

    def _close(self, step_id: int, report: FinalReport, summary: str, state: RunState, now: datetime) -> None:
        with self._db.session() as s:
            moved = s.execute(
                update(StepRow)
                .where(StepRow.id == step_id, StepRow.state == StepState.RUNNING)
                .values(state=StepState.SUCCEEDED, finished_at=now, summary=summary)
            )
            ended = s.execute(
                update(RunRow)
                .where(RunRow.id == report.run_id, RunRow.state == RunState.ACTIVE)
                .values(state=state, closed_at=now)
            )
            if not (_count(moved) and _count(ended)):
                raise _NotClosed  # leaving the block rolls both updates back
            s.add(
                ResultRow(
                    run_id=report.run_id,
                    step_id=step_id,
                    kind="report",
                    result=report_to_dict(report),
                    at=now,
                )
            )
            s.add(
                AuditRow(
                    at=now,
                    actor=report.closed_by,
                    action=f"run.{state.value}",
                    run_id=report.run_id,
                    detail={"step": step_id, "left_to_do": len(report.left_to_do)},
                )
            )

    def report(self, run_id: int) -> FinalReport | None:
        """The run's final report, once it was closed."""
        with self._db.session() as s:
            query = select(ResultRow.result).where(ResultRow.run_id == run_id, ResultRow.kind == "report")
            row = s.scalars(query.order_by(ResultRow.id.desc()).limit(1)).first()
            return None if row is None else report_from_dict(dict(row))

    def last_closed(self) -> tuple[int, str, datetime] | None:
        """The newest run that ended: its id, state and when."""
        with self._db.session() as s:
            query = select(RunRow.id, RunRow.state, RunRow.closed_at).where(RunRow.closed_at.is_not(None))
            row = s.execute(query.order_by(RunRow.closed_at.desc()).limit(1)).first()
            if row is None or row[2] is None:
                return None
            return row[0], row[1], aware(row[2])


class _NotClosed(Exception):
    """The step was no longer running, or the run no longer active."""


def _count(result: object) -> int:
    return cast(CursorResult[Any], result).rowcount
