"""Persistence of runs, steps, inventories and the audit log (SQLAlchemy; SQLite by default).

Everything the engine knows lives here, so that after a restart the bot knows exactly where
it stands. Calls are synchronous and short; the engine runs them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.backup import BackupResult, NodeBackup
from bot.core.model import (
    AuditEntry,
    RunState,
    RunView,
    SnapshotView,
    StepState,
    StepView,
    stopped_while_running,
)
from bot.steps.inventory.codec import decode_inventory
from bot.store.database import Database
from bot.store.schema import AuditRow, BackupRow, InventoryRow, RunRow, StepRow, aware, maybe_aware


class Store:
    """The engine's state. Each method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def close(self) -> None:
        """Release the connections."""
        self.db.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session

    def _now(self) -> datetime:
        return self.db.clock.now()

    # runs -----------------------------------------------------------------
    def active_run(self) -> RunView | None:
        """The run in progress, if any (at most one is active)."""
        with self._session() as s:
            row = s.scalars(select(RunRow).where(RunRow.state == RunState.ACTIVE).order_by(RunRow.id)).first()
            return self._run_view(s, row) if row else None

    def run(self, run_id: int) -> RunView | None:
        """A run by id."""
        with self._session() as s:
            row = s.get(RunRow, run_id)
            return self._run_view(s, row) if row else None

    def open_run(self, opened_by: str, channel: str | None) -> RunView:
        """The active run, or a new one when none is active.

        Two callers that both find none race to insert one; the unique index ONE_ACTIVE_RUN lets
        one win, and the other then returns the winner's run.
        """
        for _ in range(2):
            try:
                with self._session() as s:
                    row = s.scalars(select(RunRow).where(RunRow.state == RunState.ACTIVE)).first()
                    if row is None:
                        row = RunRow(
                            state=RunState.ACTIVE,
                            opened_at=self._now(),
                            opened_by=opened_by,
                            channel=channel,
                            notifier_ref={},
                        )
                        s.add(row)
                        s.flush()
                        _audit(s, row.opened_at, opened_by, "run.opened", row.id)
                    return self._run_view(s, row)
            except IntegrityError:
                continue  # another caller opened it a moment ago: take theirs
        raise RuntimeError("no active run after two attempts")  # unreachable: the second finds the winner's

    def set_notifier_ref(self, run_id: int, ref: dict[str, Any]) -> None:
        """Remember where the notifier put the run (e.g. the Slack root message)."""
        with self._session() as s:
            s.execute(update(RunRow).where(RunRow.id == run_id).values(notifier_ref=ref))

    # steps ----------------------------------------------------------------
    def start_step(self, run_id: int, name: str, requested_by: str) -> StepView | None:
        """Insert a running step unless one of the same name is already running in this run.

        The unique index ONE_RUNNING_STEP decides, not the check before it: of two callers that
        both saw no running step, one insert fails, and that caller gets None.
        """
        try:
            with self._session() as s:
                busy = s.scalars(
                    select(StepRow.id).where(
                        StepRow.run_id == run_id, StepRow.name == name, StepRow.state == StepState.RUNNING
                    )
                ).first()
                if busy is not None:
                    return None
                row = StepRow(
                    run_id=run_id,
                    name=name,
                    state=StepState.RUNNING,
                    requested_by=requested_by,
                    started_at=self._now(),
                )
                s.add(row)
                s.flush()
                _audit(s, row.started_at, requested_by, f"{name}.started", run_id, step=row.id)
                return _step_view(row)
        except IntegrityError:
            return None

    def finish_step(
        self, step_id: int, state: StepState, *, summary: str | None = None, error: str | None = None
    ) -> StepView:
        """Move a running step to its final state; a step that is no longer running is left alone."""
        now = self._now()
        with self._session() as s:
            result = s.execute(
                update(StepRow)
                .where(StepRow.id == step_id, StepRow.state == StepState.RUNNING)
                .values(state=state, finished_at=now, summary=summary, error=error)
            )
            moved = cast(CursorResult[Any], result).rowcount
            row = s.get_one(StepRow, step_id)
            if moved:
                _audit(s, now, "regclean", f"{row.name}.{row.state}", row.run_id, step=step_id, error=error)
            return _step_view(row)

    def run_step(self, step_id: int) -> StepView:
        """A step by id."""
        with self._session() as s:
            return _step_view(s.get_one(StepRow, step_id))

    def interrupt_running_steps(self) -> list[StepView]:
        """At start-up: a step that was running when the bot died is interrupted, never succeeded."""
        now = self._now()
        with self._session() as s:
            rows = list(s.scalars(select(StepRow).where(StepRow.state == StepState.RUNNING)))
            for row in rows:
                row.state = StepState.INTERRUPTED
                row.finished_at = now
                row.error = stopped_while_running(row.name)
                _audit(s, now, "regclean", f"{row.name}.interrupted", row.run_id, step=row.id)
            return [_step_view(r) for r in rows]

    # inventories ----------------------------------------------------------
    def save_inventory(
        self, run_id: int, step_id: int, recorded_by: str, recorded_at: datetime, data: str
    ) -> SnapshotView:
        """Store an inventory snapshot of a run; `data` is `"\\n".join(inventory_lines(...))`."""
        with self._session() as s:
            row = InventoryRow(
                run_id=run_id, step_id=step_id, recorded_by=recorded_by, recorded_at=recorded_at, data=data
            )
            s.add(row)
            s.flush()
            return SnapshotView(row.id, run_id, recorded_at, recorded_by, None)

    def latest_inventory(
        self, *, before_id: int | None = None, skip_id: int | None = None, run_id: int | None = None
    ) -> SnapshotView | None:
        """The newest snapshot (of any run, or of `run_id`), or the newest one older than `before_id`.

        When it is `skip_id` (one the caller already holds), it is not decoded: the view comes
        back without its inventory.
        """
        with self._session() as s:
            query = select(InventoryRow.id).order_by(InventoryRow.id.desc())
            if before_id is not None:
                query = query.where(InventoryRow.id < before_id)
            if run_id is not None:
                query = query.where(InventoryRow.run_id == run_id)
            found = s.scalars(query.limit(1)).first()
            if found is None:
                return None
            row = s.get_one(InventoryRow, found)
            inventory = None if found == skip_id else decode_inventory(row.data)
            return SnapshotView(row.id, row.run_id, aware(row.recorded_at), row.recorded_by, inventory)

    # backups --------------------------------------------------------------
    def save_backups(self, run_id: int, step_id: int, result: BackupResult) -> None:
        """Store every node's outcome of a backup step."""
        with self._session() as s:
            for n in result.nodes:
                s.add(
                    BackupRow(
                        run_id=run_id,
                        step_id=step_id,
                        node=n.node,
                        address=n.address,
                        archive=n.archive,
                        bytes=n.bytes,
                        entries=n.entries,
                        sha256=n.sha256,
                        verified=n.verified,
                        problem=n.problem,
                        finished_at=n.finished_at,
                        copy=n.copy,
                        tolerated=list(n.tolerated),
                        excluded=list(n.excluded),
                        attempts=n.attempts,
                        first_attempt=list(n.first_attempt),
                    )
                )

    def latest_backups(self, run_id: int) -> list[NodeBackup]:
        """The nodes' archives from the run's newest backup step (empty when there was none)."""
        with self._session() as s:
            step_id = s.scalars(
                select(BackupRow.step_id).where(BackupRow.run_id == run_id).order_by(BackupRow.step_id.desc())
            ).first()
        return self.step_backups(step_id)

    def step_backups(self, step_id: int | None) -> list[NodeBackup]:
        """The nodes' archives from one backup step (empty for None or a step without any)."""
        with self._session() as s:
            rows = s.scalars(select(BackupRow).where(BackupRow.step_id == step_id).order_by(BackupRow.id))
            return [
                NodeBackup(
                    r.node,
                    r.address,
                    r.archive,
                    r.bytes,
                    r.entries,
                    r.sha256,
                    r.verified,
                    r.problem,
                    aware(r.finished_at),
                    r.copy,
                    tolerated=tuple(r.tolerated or ()),
                    excluded=tuple(r.excluded or ()),
                    attempts=r.attempts or 1,
                    first_attempt=tuple(r.first_attempt or ()),
                )
                for r in rows
            ]

    # audit ----------------------------------------------------------------
    def audit(self, actor: str, action: str, run_id: int, detail: Mapping[str, Any]) -> None:
        """One line of the audit log for a decision that is not a step's start or end (e.g. a restore override)."""
        with self._session() as s:
            s.add(AuditRow(at=self._now(), actor=actor, action=action, run_id=run_id, detail=dict(detail)))

    def audit_log(self, run_id: int | None = None) -> list[AuditEntry]:
        """The audit log, oldest first (of one run, when given)."""
        with self._session() as s:
            query = select(AuditRow).order_by(AuditRow.id)
            if run_id is not None:
                query = query.where(AuditRow.run_id == run_id)
            return [
                AuditEntry(aware(r.at), r.actor, r.action, r.run_id, dict(r.detail)) for r in s.scalars(query)
            ]

    def _run_view(self, s: Session, row: RunRow) -> RunView:
        steps = s.scalars(select(StepRow).where(StepRow.run_id == row.id).order_by(StepRow.id))
        return RunView(
            id=row.id,
            state=RunState(row.state),
            opened_at=aware(row.opened_at),
            opened_by=row.opened_by,
            channel=row.channel,
            notifier_ref=dict(row.notifier_ref or {}),
            steps=tuple(_step_view(st) for st in steps),
        )


def _audit(s: Session, at: datetime, actor: str, action: str, run_id: int | None, **detail: Any) -> None:
    s.add(AuditRow(at=at, actor=actor, action=action, run_id=run_id, detail=detail))


def _step_view(row: StepRow) -> StepView:
    return StepView(
        id=row.id,
        run_id=row.run_id,
        name=row.name,
        state=StepState(row.state),
        requested_by=row.requested_by,
        started_at=aware(row.started_at),
        finished_at=maybe_aware(row.finished_at),
        summary=row.summary,
        error=row.error,
    )
