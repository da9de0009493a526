"""The runner lease: one process at a time runs the steps and the scheduler on a database.

One row of `runner_lease` names the holder (a random id per process, its host and pid) and until
when it holds the lease. The holder renews it; another process takes it only when it has expired,
when its holder released it, or when its holder was a process of this host that is gone (a process
killed and started again on the same machine, or a container restarted in its pod, need not wait).
Each change is one conditional statement on the row as it was read, so two processes that race end
with one holder, on SQLite and PostgreSQL alike (docs/architecture.md, "One runner").
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.schema import LeaseRow, aware

RUNNER = "runner"
"""The lease's row: the one that says who runs the steps and the scheduler."""


@dataclass(frozen=True)
class Holder:
    """A process that holds, or wants, the lease."""

    id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls) -> Holder:
        """This process, with a fresh id (a restarted process is another holder)."""
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid())

    def __str__(self) -> str:
        return f"host {self.host}, pid {self.pid}"


@dataclass(frozen=True)
class LeaseView:
    """The lease as stored."""

    holder: Holder
    acquired_at: datetime
    expires_at: datetime


class RunnerLease:
    """The lease as one process sees it: take, renew, release (blocking: run them off the loop)."""

    def __init__(self, db: Database, me: Holder, ttl: timedelta) -> None:
        self.db = db
        self.me = me
        self.ttl = ttl

    def current(self) -> LeaseView | None:
        """Who holds the lease (perhaps expired), or None when nobody does."""
        with self.db.session() as s:
            row = s.get(LeaseRow, RUNNER)
            return _view(row) if row is not None else None

    def acquire(self) -> LeaseView:
        """Take the lease if it is free, expired, ours, or its holder is gone; the lease as it then is."""
        while True:
            seen = self.current()
            now = self.db.clock.now()
            won = self._insert(now) if seen is None else self.takeable(seen, now) and self._swap(seen, now)
            if won:
                return self._mine(now)
            after = self.current()
            if after is not None:  # else its holder released it meanwhile: try again
                return after

    def takeable(self, lease: LeaseView, now: datetime) -> bool:
        """Whether we may take this lease: ours, expired, or its holder is gone."""
        return lease.holder.id == self.me.id or lease.expires_at <= now or self._gone(lease.holder)

    def renew(self) -> bool:
        """Extend our lease; False when it is no longer ours (another process took it over)."""
        now = self.db.clock.now()
        with self.db.session() as s:
            result = s.execute(
                update(LeaseRow)
                .where(LeaseRow.name == RUNNER, LeaseRow.holder == self.me.id)
                .values(expires_at=now + self.ttl)
            )
            return cast(CursorResult[object], result).rowcount == 1

    def release(self) -> None:
        """Give the lease up (a clean stop), so that a waiting process takes over at once."""
        with self.db.session() as s:
            s.execute(delete(LeaseRow).where(LeaseRow.name == RUNNER, LeaseRow.holder == self.me.id))

    def _mine(self, now: datetime) -> LeaseView:
        return LeaseView(self.me, now, now + self.ttl)

    def _insert(self, now: datetime) -> bool:
        try:
            with self.db.session() as s:
                s.add(
                    LeaseRow(
                        name=RUNNER,
                        holder=self.me.id,
                        host=self.me.host,
                        pid=self.me.pid,
                        acquired_at=now,
                        expires_at=now + self.ttl,
                    )
                )
        except IntegrityError:  # another process inserted it first
            return False
        return True

    def _swap(self, seen: LeaseView, now: datetime) -> bool:
        """Take the row over only if it is still as `seen` (its holder has not renewed meanwhile)."""
        with self.db.session() as s:
            result = s.execute(
                update(LeaseRow)
                .where(
                    LeaseRow.name == RUNNER,
                    LeaseRow.holder == seen.holder.id,
                    LeaseRow.expires_at == seen.expires_at,
                )
                .values(
                    holder=self.me.id,
                    host=self.me.host,
                    pid=self.me.pid,
                    acquired_at=now,
                    expires_at=now + self.ttl,
                )
            )
            return cast(CursorResult[object], result).rowcount == 1

    def _gone(self, holder: Holder) -> bool:
        """A holder of this host that cannot be running: our own pid (we are its restart), or no such process."""
        if holder.host != self.me.host:
            return False
        return holder.pid == self.me.pid or not _alive(holder.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _view(row: LeaseRow) -> LeaseView:
    return LeaseView(Holder(row.holder, row.host, row.pid), aware(row.acquired_at), aware(row.expires_at))
