"""A crafted job in the database runs nothing when the bot starts (docs/architecture.md, "Windows and
the scheduler"): not a pickle in APScheduler's old table, not a row naming a callable off the
allow-list in `scheduled_jobs`."""

from __future__ import annotations

import json
import logging
import os
import pickle
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build
from bot.config.settings import Settings
from bot.scheduler import job_def
from bot.store.database import Database
from bot.store.jobs import JobTable
from bot.store.migrate import upgrade

SOON = datetime.now(UTC) + timedelta(hours=1)


class Command:
    """A pickle that runs a shell command when it is loaded."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (self.command,)


def payload(marker: Path) -> bytes:
    return pickle.dumps(Command(f"touch {marker}"))


def test_the_payload_does_run_a_command_when_unpickled(tmp_path: Path) -> None:
    # What the tests below rely on: loading it would create the marker.
    marker = tmp_path / "proof"
    pickle.loads(payload(marker))  # noqa: S301 -- the point of the test
    assert marker.exists()


def database_at_0007_with_apscheduler_rows(path: Path, marker: Path) -> None:
    """A database of the release before, with APScheduler's table as its job store created it, and
    two crafted rows: one with an id like regclean's own, one with any id."""
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db, revision="0007")
    db.close()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE apscheduler_jobs (id VARCHAR(191) NOT NULL, next_run_time FLOAT, "
            "job_state BLOB NOT NULL, PRIMARY KEY (id))"
        )
        rows = [("remind-window-99", SOON.timestamp()), ("pwned", SOON.timestamp()), ("step-overdue-3", None)]
        connection.executemany(
            "INSERT INTO apscheduler_jobs VALUES (?, ?, ?)", [(i, t, payload(marker)) for i, t in rows]
        )


def settings(path: Path) -> Settings:
    return Settings.load(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test", "DATABASE_URL": f"sqlite:///{path}"}
    )


async def test_a_pickle_in_the_old_job_table_is_never_loaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, marker = tmp_path / "regclean.db", tmp_path / "marker"
    database_at_0007_with_apscheduler_rows(path, marker)
    bot = build(settings(path))
    with caplog.at_level(logging.WARNING):
        await bot.start()
    try:
        # The row with regclean's kind of id is converted from its id and run time alone.
        assert [job.id for job in bot.scheduler.get_jobs()] == ["remind-window-99"]
        [job] = map(job_def, JobTable(bot.store.db).rows())
        assert (job.name, job.args, job.misfire_grace) == ("remind_window", (99,), 60)
        assert abs((job.run_at - SOON).total_seconds()) < 0.001
    finally:
        await bot.stop()
    assert not marker.exists()
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped == [
        "scheduled job 'pwned' dropped: not a job regclean scheduled, or paused",
        "scheduled job 'step-overdue-3' dropped: not a job regclean scheduled, or paused",
    ]
    with sqlite3.connect(path) as connection:
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    assert "apscheduler_jobs" not in names


async def test_a_row_naming_a_callable_off_the_allow_list_is_refused_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, marker = tmp_path / "regclean.db", tmp_path / "marker"
    upgrade(db := Database.from_url(f"sqlite:///{path}"))
    db.close()
    due = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()  # due at once, if it were run
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO scheduled_jobs VALUES (?, ?, ?, ?, NULL)",
            ("expire-request-1", "os.system", json.dumps([f"touch {marker}"]), due),
        )
    bot = build(settings(path))
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        await bot.start()
    try:
        assert bot.scheduler.get_jobs() == [], "nothing was scheduled, so nothing can run"
    finally:
        await bot.stop()
    assert not marker.exists()
    assert [r.getMessage() for r in caplog.records if r.name == "bot.scheduler"] == [
        "scheduled job 'expire-request-1' refused, not run: it names 'os.system', which is not one of "
        "expire_request, remind_expiry, remind_window, purge_at_window, step_overdue"
    ]
