"""Declared maintenance windows in the store: at most one is in force, and every change is audited."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.steps.schedule.windows import Window
from bot.store.database import Database
from bot.store.schema import AuditRow, WindowRow, aware


class WindowRecords:
    """The declared window: declare (replacing the one in force), read, cancel."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def declare(self, window: Window, user: str) -> Window:
        """Put `window` in force; the one it replaces is cancelled by the same person."""
        now = self._db.clock.now()
        with self._db.session() as s:
            s.execute(
                update(WindowRow)
                .where(WindowRow.cancelled_at.is_(None))
                .values(cancelled_by=user, cancelled_at=now)
            )
            row = WindowRow(start=window.start, end=window.end, declared_by=user, declared_at=now)
            s.add(row)
            s.flush()
            detail = {"window": row.id, "start": window.start.isoformat(), "end": window.end.isoformat()}
            s.add(AuditRow(at=now, actor=user, action="window.declared", run_id=None, detail=detail))
            return _window(row)

    def current(self) -> Window | None:
        """The declared window in force (it may have ended: windows are then still in use)."""
        with self._db.session() as s:
            query = select(WindowRow).where(WindowRow.cancelled_at.is_(None)).order_by(WindowRow.id.desc())
            row = s.scalars(query.limit(1)).first()
            return None if row is None else _window(row)

    def cancel(self, user: str) -> Window | None:
        """Cancel the declared window; None when none was in force."""
        now = self._db.clock.now()
        with self._db.session() as s:
            row = s.scalars(select(WindowRow).where(WindowRow.cancelled_at.is_(None))).first()
            if row is None:
                return None
            row.cancelled_by, row.cancelled_at = user, now
            s.add(
                AuditRow(
                    at=now, actor=user, action="window.cancelled", run_id=None, detail={"window": row.id}
                )
            )
            return _window(row)


def _window(row: WindowRow) -> Window:
    return Window(aware(row.start), aware(row.end), "declared", declared_by=row.declared_by, id=row.id)
