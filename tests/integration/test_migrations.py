"""Schema migrations: a new database, a database written by the release before migrations, and twice.

`tests/fixtures/release-3e8e990.db` was written by that release's own code
(tests/fixtures/make_release_db.py says how): a closed run with everything a run records, an
active run with an open approval request, a declared window, and four scheduled jobs.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event

from bot.core.model import RunState, StepState
from bot.scheduler import Jobs, job_def, make_scheduler
from bot.steps.approval.model import Outcome, RequestState
from bot.steps.approval.records import Approvals
from bot.steps.close.records import CloseRecords
from bot.steps.preflight.records import PreflightRecords
from bot.steps.purge.records import PurgeRecords
from bot.steps.restore.records import RestoreRecords
from bot.steps.schedule.records import WindowRecords
from bot.store.database import Database
from bot.store.jobs import JobTable
from bot.store.migrate import current_revision, head_revision, include_object, upgrade
from bot.store.runs import Store
from bot.store.schema import Base
from sandbox.clock import FakeClock

RELEASE_DB = Path(__file__).resolve().parents[1] / "fixtures" / "release-3e8e990.db"


@pytest.fixture
def release_db(tmp_path: Path) -> Path:
    """A copy of the release's database, to upgrade."""
    copy = tmp_path / "regclean.db"
    shutil.copyfile(RELEASE_DB, copy)
    return copy


def differences(db: Database) -> list[Any]:
    """What Alembic finds between the database and the models (nothing, when they agree)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))


def sqlite_schema(url: str) -> dict[str, str]:
    """Every table and index as SQLite stores its CREATE statement, Alembic's and APScheduler's left out."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
            return {name: sql for name, sql in rows if "alembic" not in name and "apscheduler" not in name}
    finally:
        engine.dispose()


def test_a_new_database_upgrades_to_head_and_equals_the_models(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(db) is None
    upgrade(db)
    assert current_revision(db) == head_revision()
    assert differences(db) == []


def test_the_first_revision_creates_exactly_what_the_release_created(tmp_path: Path) -> None:
    # The release made its schema with create_all: the same statements, byte for byte.
    migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(Database.from_url(migrated), revision="0001")
    assert sqlite_schema(migrated) == sqlite_schema(f"sqlite:///{RELEASE_DB}")


def test_head_has_every_table_and_index_create_all_makes(tmp_path: Path) -> None:
    created = f"sqlite:///{tmp_path / 'created.db'}"
    engine = create_engine(created)
    Base.metadata.create_all(engine)
    engine.dispose()
    migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(Database.from_url(migrated))
    assert sqlite_schema(migrated).keys() == sqlite_schema(created).keys()


def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    db = Database.from_url(url)
    upgrade(db)
    schema = sqlite_schema(url)
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    upgrade(db)
    changes = [
        s
        for s in statements
        if s.lstrip().split()[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE"}
    ]
    assert changes == []
    assert sqlite_schema(url) == schema and current_revision(db) == head_revision()


def test_bots_starting_at_once_on_one_database_migrate_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    databases = [Database.from_url(url) for _ in range(4)]
    barrier = threading.Barrier(len(databases))
    failures: list[BaseException] = []

    def start(db: Database) -> None:
        barrier.wait()
        try:
            upgrade(db)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with sqlite3.connect(tmp_path / "race.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


def test_the_release_database_is_adopted_and_reads_back_through_todays_api(release_db: Path) -> None:
    db = Database.from_url(f"sqlite:///{release_db}")
    assert current_revision(db) is None  # the release had no migrations
    upgrade(db)
    assert current_revision(db) == head_revision()
    assert differences(db) == []

    store = Store(db)
    closed, active = store.run(1), store.active_run()
    assert closed is not None and closed.state is RunState.SUCCEEDED
    assert [s.name for s in closed.steps] == [
        "inventory", "backup", "preflight", "purge", "restore_core", "restore_plugins", "verify", "close"
    ]  # fmt: skip
    assert all(s.state is StepState.SUCCEEDED for s in closed.steps)
    assert active is not None and active.id == 2 and [s.name for s in active.steps] == [
        "inventory", "backup", "preflight"
    ]  # fmt: skip
    snapshot = store.latest_inventory(run_id=1)
    assert snapshot is not None and snapshot.inventory is not None
    assert snapshot.inventory.operators[0].display_name == "RDS 数据库"
    assert snapshot.inventory.operators[0].installed_csv == "rds-operator.v4.2.2"
    assert [b.node for b in store.latest_backups(1)] == ["master-1", "master-2", "master-3"]
    assert all(b.verified and b.sha256 for b in store.latest_backups(2))

    approvals = Approvals(db)
    started, waiting = approvals.get(1), approvals.get(2)
    assert started.state is RequestState.STARTED and started.approvals == ("UBOB", "UCAROL")
    assert waiting.state is RequestState.OPEN and waiting.approvals == ("UCAROL",)
    # The plan the release stored decodes, and is still the plan that was fingerprinted.
    assert started.plan.fingerprint == started.fingerprint and started.plan.bucket == "registry"
    assert waiting.plan.fingerprint == waiting.fingerprint and waiting.plan.run == 2

    preflight = PreflightRecords(db).latest_preflight(1)
    assert (
        preflight is not None and preflight.custom == ("acme/custom",) and preflight.custom_ack_by == "UBOB"
    )
    purge = PurgeRecords(db).latest(1)
    assert purge is not None and purge[0].empty and purge[0].restarted == ("registry-7c9",)
    assert Approvals(db).request_ref(1) == {"channel": "C0REGCLEAN", "ts": "1700000000.000200"}

    report = CloseRecords(db).report(1)
    assert report is not None and report.state == "succeeded"
    assert report.approvers == ("UBOB", "UCAROL") and report.catalog.gone == (
        "acme/custom:1.0",
        "alauda/volcano:v4.1.0",
    )
    restores = RestoreRecords(db)
    plugins, verification = restores.latest_plugins(1), restores.latest_verification(1)
    assert plugins is not None and len(plugins.pushes) == 2 and not plugins.failed
    assert verification is not None and verification.scope == "all" and verification.passed

    window = WindowRecords(db).current()
    assert (
        window is not None
        and window.declared_by == "UALICE"
        and window.end - window.start == timedelta(hours=2)
    )


def test_the_release_database_takes_new_writes_on_the_injected_clock(release_db: Path) -> None:
    db = Database.from_url(f"sqlite:///{release_db}")
    upgrade(db)
    waiting = Approvals(db).get(2)
    clock = FakeClock(waiting.created_at + timedelta(minutes=1))
    approvals = Approvals(Database(db.engine, clock))
    click = approvals.approve(2, "UDAN", may_approve=True, allow_self=False)
    assert click.outcome is Outcome.COMPLETED and approvals.get(2).state is RequestState.APPROVED
    assert Store(Database(db.engine, clock)).audit_log(2)[-1].at == clock.now()


def test_a_release_database_without_the_partial_indexes_gets_them(release_db: Path) -> None:
    # The release added them to older databases with checkfirst; one that never ran it lacks them.
    with sqlite3.connect(release_db) as connection:
        connection.execute("DROP INDEX one_active_run")
        connection.execute("DROP INDEX one_running_step")
    db = Database.from_url(f"sqlite:///{release_db}")
    upgrade(db)
    assert differences(db) == []
    store = Store(db)
    assert store.open_run("UBOB", "C1").id == 2  # the active run, not a second one
    assert store.start_step(2, "backup", "UBOB") is not None
    assert store.start_step(2, "backup", "UCAROL") is None


async def test_the_release_scheduled_jobs_load_in_todays_scheduler(release_db: Path) -> None:
    # The release's jobs were pickles in apscheduler_jobs; they come back as data, read from their
    # ids and run times only, and the pickles' table is gone.
    db = Database.from_url(f"sqlite:///{release_db}")
    upgrade(db)
    with sqlite3.connect(release_db) as connection:
        tables = {
            name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    assert "apscheduler_jobs" not in tables and "scheduled_jobs" in tables
    defs = {job.id: job for job in map(job_def, JobTable(db).rows())}
    assert {job_id: (job.name, job.misfire_grace) for job_id, job in defs.items()} == {
        "expire-request-2": ("expire_request", None),
        "remind-expiry-2": ("remind_expiry", 60),
        "purge-at-window-2": ("purge_at_window", None),
        "remind-window-2": ("remind_window", 60),
    }
    scheduler = make_scheduler()
    assert Jobs(scheduler, JobTable(db)).restore() == 4
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert jobs.keys() == defs.keys()
        waiting = Approvals(db).get(2)
        assert defs["expire-request-2"].args == (2,)
        assert abs((jobs["expire-request-2"].next_run_time - waiting.expires_at).total_seconds()) < 1
        window = WindowRecords(db).current()
        assert window is not None and defs["purge-at-window-2"].args == (2, window.start.isoformat())
        assert jobs["purge-at-window-2"].next_run_time == window.start
        assert jobs["remind-window-2"].next_run_time == window.start - timedelta(minutes=15)
    finally:
        scheduler.shutdown(wait=False)
        db.close()
