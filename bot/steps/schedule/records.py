"""Declared maintenance windows in the store: at most one is in force, and every change is audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from bot.steps.schedule.windows import Window
from bot.store.schema import AuditRow, Base, aware, utcnow


class WindowRow(Base):
    """A window a person declared with `/regclean window START DURATION`."""

    __tablename__ = "windows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    declared_by: Mapped[str] = mapped_column(String(64))
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WindowRecords:
    """The declared window: declare (replacing the one in force), read, cancel."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        Base.metadata.create_all(engine)

    def declare(self, window: Window, user: str) -> Window:
        """Put `window` in force; the one it replaces is cancelled by the same person."""
        now = utcnow()
        with self._sessions.begin() as s:
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
        with self._sessions.begin() as s:
            query = select(WindowRow).where(WindowRow.cancelled_at.is_(None)).order_by(WindowRow.id.desc())
            row = s.scalars(query.limit(1)).first()
            return None if row is None else _window(row)

    def cancel(self, user: str) -> Window | None:
        """Cancel the declared window; None when none was in force."""
        now = utcnow()
        with self._sessions.begin() as s:
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
