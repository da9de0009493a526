"""The database the store and the steps' records share: its engine, its sessions, and its clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.audit.chain import seal
from bot.core.clock import Clock, SystemClock
from bot.store.engine import make_engine


class Database:
    """One database and the one clock every stored time comes from.

    Opening it does no schema work: `bot.store.migrate.upgrade` brings the schema to head, once,
    at start-up.
    """

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        event.listen(self.sessions, "before_flush", seal)  # every audit row joins the hash chain

    @classmethod
    def from_url(cls, url: str, clock: Clock | None = None) -> Database:
        """The database at a URL (nothing is connected until first use)."""
        return cls(make_engine(url), clock)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()
