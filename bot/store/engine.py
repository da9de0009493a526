"""How the database is opened: its SQLAlchemy engine, and for SQLite a private file in WAL mode
with a busy timeout, so that two processes can share it."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry


def private_file(path: str | None) -> None:
    """Make the SQLite file only this user's (0600, and a directory it creates 0700) before SQLite
    opens it: it holds who approved what, and SQLite gives its WAL and shared-memory files the
    database file's permissions. An in-memory database has no file."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    if not file.parent.exists():
        file.parent.mkdir(mode=0o700, parents=True)
    os.close(os.open(file, os.O_WRONLY | os.O_CREAT, 0o600))
    if file.stat().st_mode & 0o077:
        file.chmod(0o600)


BUSY_TIMEOUT_MS = 10_000
"""How long an SQLite connection waits for another process's lock."""


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode (a no-op once it is). Processes opening a new file at once each
    switch it, and SQLite answers a switch that collides with another one "database is locked" at
    once, without waiting for the busy timeout: so look again, and wait for the other switch."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        time.sleep(0.02)


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine; SQLite gets WAL and a busy timeout so that two processes can share it."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        private_file(engine.url.database)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine
