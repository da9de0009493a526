"""The scheduler's jobs are data: the allow-list a stored row must pass, and the round trip through
`scheduled_jobs` that makes jobs survive a restart (docs/architecture.md, "Windows and the scheduler")."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import insert

from bot.scheduler import ALLOWED, JobDef, Jobs, RefusedJob, bind, job_def, make_scheduler
from bot.store.database import Database
from bot.store.jobs import JobTable, StoredJob
from bot.store.schema import ScheduledJobRow
from tests.databases import open_store

AT = datetime(2030, 1, 1, 21, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = open_store(f"sqlite:///{tmp_path / 'regclean.db'}")
    yield store.db
    store.close()


def write(db: Database, job_id: object, name: object, args: object, run_at: object, grace: object) -> None:
    """A row as anyone with write access to the database could write it, bypassing `JobTable`."""
    with db.engine.begin() as connection:
        connection.execute(
            insert(ScheduledJobRow).values(
                id=job_id, name=name, args=args, run_at=run_at, misfire_grace=grace
            )
        )


def every_kind(jobs: Jobs) -> None:
    berlin = AT.astimezone(ZoneInfo("Europe/Berlin"))
    jobs.expire(7, AT)
    jobs.remind_expiry(7, AT - timedelta(minutes=5))
    jobs.purge_at(7, berlin)  # a window's start, in the zone it was declared in
    jobs.remind_window(7, AT - timedelta(minutes=15))
    jobs.watch_step(12, AT + timedelta(hours=3))


async def test_every_kind_of_job_is_stored_as_data_and_restored_after_a_restart(db: Database) -> None:
    first = make_scheduler()
    first.start(paused=True)
    every_kind(Jobs(first, JobTable(db)))
    before = {job.id: job.next_run_time for job in first.get_jobs()}
    first.shutdown(wait=False)

    stored = {row.id: row for row in JobTable(db).rows()}
    assert json.loads(str(stored["purge-at-window-7"].args)) == [7, "2030-01-01T22:00:00+01:00"]
    assert stored["purge-at-window-7"].run_at == "2030-01-01T21:00:00+00:00"
    assert {row.id: row.name for row in stored.values()} == {
        "expire-request-7": "expire_request",
        "remind-expiry-7": "remind_expiry",
        "purge-at-window-7": "purge_at_window",
        "remind-window-7": "remind_window",
        "step-overdue-12": "step_overdue",
    }

    again = make_scheduler()
    jobs = Jobs(again, JobTable(db))
    assert jobs.restore() == 5
    again.start(paused=True)
    try:
        assert {job.id: job.next_run_time for job in again.get_jobs()} == before
        assert {j.id: (j.kind, j.subject) for j in jobs.scheduled()} == {
            "remind-window-7": ("reminder", 7),
            "remind-expiry-7": ("reminder", 7),
            "expire-request-7": ("expiry", 7),
            "purge-at-window-7": ("purge", 7),
            "step-overdue-12": ("overrun", 12),
        }
        defs = {row.id: job_def(row) for row in JobTable(db).rows()}
        assert defs["expire-request-7"] == JobDef("expire-request-7", "expire_request", (7,), AT, None)
        assert defs["remind-expiry-7"].misfire_grace == 60
        assert defs["purge-at-window-7"].misfire_grace is None
    finally:
        again.shutdown(wait=False)


async def test_scheduling_again_replaces_and_cancelling_forgets_the_row(db: Database) -> None:
    scheduler = make_scheduler()
    scheduler.start(paused=True)
    jobs = Jobs(scheduler, JobTable(db))
    try:
        jobs.expire(7, AT)
        jobs.expire(7, AT + timedelta(hours=1))
        assert [(row.id, row.run_at) for row in JobTable(db).rows()] == [
            ("expire-request-7", "2030-01-01T22:00:00+00:00")
        ]
        jobs.remind_expiry(7, AT)
        jobs.cancel_request(7)
        assert JobTable(db).rows() == [] and scheduler.get_jobs() == []
        assert not jobs.cancel("expire-request-7")
    finally:
        scheduler.shutdown(wait=False)


def test_a_stored_job_not_yet_restored_can_still_be_cancelled(db: Database) -> None:
    # Recovery runs before the jobs are restored; what it cancels must not come back.
    JobTable(db).put("remind-expiry-7", "remind_expiry", [7], AT, 60)
    jobs = Jobs(make_scheduler(), JobTable(db))
    assert jobs.cancel("remind-expiry-7")
    assert jobs.restore() == 0


def test_a_fired_job_takes_its_row_with_it_but_not_its_replacement(db: Database) -> None:
    table = JobTable(db)
    table.put("expire-request-7", "expire_request", [7], AT + timedelta(hours=1), None)  # the replacement
    assert not table.delete("expire-request-7", AT)  # the job that fired ran at AT
    # the same time in another zone is the same time
    assert table.delete(
        "expire-request-7", (AT + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    )
    assert table.rows() == []


GOOD = ("expire-request-7", "expire_request", "[7]", "2030-01-01T21:00:00+00:00", None)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "system", "names 'system', which is not one of expire_request"),
        ("name", "os.system", "which is not one of"),
        ("name", 3, "names 3"),
        ("args", '["touch marker"]', "argument 1 is not an integer"),
        ("args", "[7", "not a JSON array of 1 for expire_request"),
        ("args", '{"request": 7}', "not a JSON array"),
        ("args", "[7, 8]", "not a JSON array of 1"),
        ("args", "[true]", "argument 1 is not an integer"),
        ("args", "[7.0]", "argument 1 is not an integer"),
        ("id", "expire-request-8", "its id is not expire-request-7"),
        ("id", "evil", "its id is not expire-request-7"),
        ("run_at", "tomorrow", "run time is not an ISO 8601 time"),
        ("run_at", "2030-01-01T21:00:00", "with an offset"),
        ("run_at", 1893531600.0, "run time is not"),
        ("misfire_grace", -1, "misfire grace"),
        ("misfire_grace", "60", "misfire grace"),
    ],
)
def test_a_row_that_is_not_a_job_regclean_runs_is_refused(field: str, value: object, reason: str) -> None:
    fields: dict[str, object] = dict(
        zip(("id", "name", "args", "run_at", "misfire_grace"), GOOD, strict=True)
    )
    fields[field] = value
    with pytest.raises(RefusedJob, match=re.escape(reason)):
        job_def(StoredJob(**fields))  # type: ignore[arg-type]


def test_a_purge_needs_its_due_time_with_an_offset() -> None:
    row = StoredJob("purge-at-window-7", "purge_at_window", '[7, "2030-01-01T21:00:00"]', GOOD[3], None)
    with pytest.raises(RefusedJob, match="argument 2 is not a time"):
        job_def(row)
    ok = StoredJob("purge-at-window-7", "purge_at_window", '[7, "2030-01-01T21:00:00Z"]', GOOD[3], None)
    assert job_def(ok).args == (7, "2030-01-01T21:00:00Z")


def test_the_allow_list_is_the_runbooks_jobs_and_nothing_else() -> None:
    assert sorted(ALLOWED) == [
        "expire_request",
        "purge_at_window",
        "remind_expiry",
        "remind_window",
        "step_overdue",
    ]
    assert all(allowed.fn.__module__ == "bot.scheduler" for allowed in ALLOWED.values())


async def test_at_start_up_a_crafted_row_is_refused_with_one_line_and_never_runs(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "marker"
    write(db, "x", "system", json.dumps([f"touch {marker}"]), GOOD[3], None)
    write(db, "remind-expiry-7", "os.system", json.dumps([f"touch {marker}"]), GOOD[3], None)
    write(db, *GOOD)
    scheduler = make_scheduler()
    jobs = Jobs(scheduler, JobTable(db))
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        assert jobs.restore() == 1
    scheduler.start(paused=True)
    try:
        assert [job.id for job in scheduler.get_jobs()] == ["expire-request-7"]
        assert scheduler.get_job("expire-request-7").name == "expire_request"
    finally:
        scheduler.shutdown(wait=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.scheduler"]
    assert lines == [
        "scheduled job 'remind-expiry-7' refused, not run: it names 'os.system', which is not one of "
        "expire_request, remind_expiry, remind_window, purge_at_window, step_overdue",
        "scheduled job 'x' refused, not run: it names 'system', which is not one of "
        "expire_request, remind_expiry, remind_window, purge_at_window, step_overdue",
    ]
    assert not marker.exists()
    assert len(JobTable(db).rows()) == 3, "a refused row is left for a person to look at"


class Expiries:
    """The runbook as the jobs see it: records the requests it was asked to expire."""

    def __init__(self) -> None:
        self.expired: list[int] = []

    async def expire_request(self, request_id: int) -> bool:
        self.expired.append(request_id)
        return True

    async def remind_expiry(self, request_id: int) -> None: ...

    async def remind_window(self, request_id: int) -> None: ...

    async def purge_at_window(self, request_id: int, due: datetime) -> None: ...

    async def step_overdue(self, step_id: int) -> None: ...


async def test_a_due_job_whose_row_another_process_deleted_does_not_run(db: Database) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)  # due at once when the scheduler starts
    target = Expiries()
    bind(target)
    scheduler = make_scheduler()
    jobs = Jobs(scheduler, JobTable(db))
    jobs.expire(7, past)
    jobs.expire(8, past)
    JobTable(db).delete("expire-request-7")  # `regclean schedule cancel` from another process
    ran: set[str] = set()
    both = asyncio.Event()

    def executed(event: JobExecutionEvent) -> None:
        ran.add(event.job_id)
        if len(ran) == 2:
            both.set()

    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.start()
    try:
        await asyncio.wait_for(both.wait(), 10)
    finally:
        scheduler.shutdown(wait=False)
        bind(None)
    assert target.expired == [8], "the job whose row is gone did not run; the other did"
    assert JobTable(db).rows() == []
