"""Bring a database's schema to what this release expects, once, at start-up."""

from __future__ import annotations

from bot.core.clock import Clock
from bot.store.database import Database
from bot.store.schema import ONE_ACTIVE_RUN, ONE_RUNNING_STEP, Base


def upgrade(db: Database) -> None:
    """Create what is missing (blocking: call it off the event loop)."""
    Base.metadata.create_all(db.engine)
    for index in (ONE_ACTIVE_RUN, ONE_RUNNING_STEP):  # also on a database made before they existed
        index.create(db.engine, checkfirst=True)


def open_database(url: str, clock: Clock | None = None) -> Database:
    """Open the database at `url` and bring its schema to head (the CLI's and the tests' one call)."""
    db = Database.from_url(url, clock)
    upgrade(db)
    return db
