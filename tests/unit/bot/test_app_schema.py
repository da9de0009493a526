"""The bot's schema work happens once, when it starts, never while it is wired."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.app import build
from bot.config.settings import Settings
from bot.store.migrate import current_revision, head_revision


def tables(path: Path) -> list[str]:
    """The tables SQLite holds (none when the file does not exist yet)."""
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


async def test_building_the_bot_leaves_the_database_alone_and_starting_it_migrates(tmp_path: Path) -> None:
    path = tmp_path / "regclean.db"
    settings = Settings.load(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test", "DATABASE_URL": f"sqlite:///{path}"}
    )
    bot = build(settings)
    assert tables(path) == []
    await bot.start()
    try:
        assert current_revision(bot.store.db) == head_revision()
        assert {"runs", "steps", "alembic_version", "scheduled_jobs"} <= set(tables(path))
        assert "apscheduler_jobs" not in tables(path), "APScheduler keeps its jobs in memory"
    finally:
        await bot.stop()
