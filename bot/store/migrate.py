"""Bring a database's schema to this release's head, once, at start-up (Alembic, configured in code).

A new, empty database gets every revision. A database written by the release before migrations
existed has the tables but no `alembic_version`: the first revision creates only what it lacks
(perhaps the two partial unique indexes) and records it, and the later revisions follow.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.core.clock import Clock
from bot.store.database import Database

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
#: tables in our database that other code owned: APScheduler's job store, until revision 0008 dropped it
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})
#: the PostgreSQL advisory lock key that one migration at a time holds (any constant of our own)
MIGRATION_LOCK = 0x7265_6763_6C65_616E  # "regclean"


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to head (or to `revision`); a database already there is left alone (blocking:
    run it off the loop)."""
    with _exclusive(db) as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        if before is None and "runs" in inspect(connection).get_table_names():
            log.info("the database predates migrations: adopting it at the first revision")
        command.upgrade(_config(connection), revision)
        after = MigrationContext.configure(connection).get_current_revision()
        if after != before:
            log.info("database schema upgraded from %s to %s", before or "nothing", after)


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision this release knows."""
    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def open_database(url: str, clock: Clock | None = None) -> Database:
    """Open the database at `url` and bring its schema to head (the CLI's and the tests' one call)."""
    db = Database.from_url(url, clock)
    upgrade(db)
    return db


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter: leave the tables other code owns out of our migrations and comparisons."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _config(connection: Connection | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _exclusive(db: Database) -> Iterator[Connection]:
    """One connection whose whole upgrade is one transaction, committed at the end.

    Two processes starting at once must not both run a revision. On SQLite, `BEGIN IMMEDIATE`
    takes the write lock before the first look at the schema (the other process waits, up to the
    busy timeout, and then finds it at head); it also makes SQLite's DDL part of the transaction,
    which the driver would otherwise run outside one. On PostgreSQL, whose DDL is transactional,
    a transaction-level advisory lock does the same.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        yield connection
        connection.commit()
