"""The scheduler keeps its jobs in the store's database, so they survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.scheduler import make_scheduler
from tests.databases import open_store


def reminder() -> None:
    """A job target must be importable by reference to be stored."""


async def test_a_scheduled_job_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'regclean.db'}"
    store = open_store(url)
    scheduler = make_scheduler(store.db.engine)
    scheduler.start(paused=True)
    scheduler.add_job(
        reminder, "date", run_date=datetime.now(UTC) + timedelta(hours=1), id="expire-approval-1"
    )
    scheduler.shutdown(wait=False)
    store.close()

    reopened = open_store(url)
    again = make_scheduler(reopened.db.engine)
    again.start(paused=True)
    try:
        job = again.get_job("expire-approval-1")
        assert job is not None
        assert job.func is reminder
    finally:
        again.shutdown(wait=False)
        reopened.close()
