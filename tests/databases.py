"""Stores for tests: a database at a URL, brought to the schema's head, on the clock the test gives."""

from __future__ import annotations

from bot.core.clock import Clock
from bot.store.migrate import open_database
from bot.store.runs import Store


def open_store(url: str, clock: Clock | None = None) -> Store:
    """The store at `url`, its schema at head, reading time from `clock` (the system clock by default)."""
    return Store(open_database(url, clock))
