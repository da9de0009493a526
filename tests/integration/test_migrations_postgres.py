"""Schema migrations on PostgreSQL (Debian's, started by the `postgres` fixture): to head, equal to
the models, idempotent, and once when several bots start at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text

from bot.scheduler import JobDef, Jobs, job_def, make_scheduler
from bot.store.database import Database
from bot.store.jobs import JobTable
from bot.store.migrate import current_revision, head_revision, include_object, upgrade
from bot.store.schema import Base
from tests.integration.test_crafted_jobs import payload
from tests.postgres import PostgresServer


def differences(db: Database) -> list[Any]:
    """What Alembic finds between the database and the models (nothing, when they agree)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_a_new_postgresql_database_upgrades_to_head_and_equals_the_models(postgres: PostgresServer) -> None:
    db = Database.from_url(postgres.create_database())
    try:
        assert current_revision(db) is None
        upgrade(db)
        assert current_revision(db) == head_revision()
        assert differences(db) == []
        indexes = {i["name"]: i for i in inspect(db.engine).get_indexes("steps")}
        assert indexes["one_running_step"]["unique"], "the partial unique index exists on PostgreSQL too"
        assert "runner_lease" in inspect(db.engine).get_table_names()
    finally:
        db.close()


def test_upgrading_a_postgresql_database_twice_changes_nothing(postgres: PostgresServer) -> None:
    db = Database.from_url(postgres.create_database())
    try:
        upgrade(db)
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        upgrade(db)
        verbs = {s.lstrip().split()[0].upper() for s in statements}
        assert not verbs & {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE"}, statements
    finally:
        db.close()


def test_bots_starting_at_once_on_postgresql_migrate_it_once(postgres: PostgresServer) -> None:
    url = postgres.create_database()
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
    try:
        assert failures == []
        assert all(current_revision(db) == head_revision() for db in databases)
    finally:
        for db in databases:
            db.close()


async def test_the_scheduler_keeps_its_jobs_in_postgresql_across_a_restart(postgres: PostgresServer) -> None:
    db = Database.from_url(postgres.create_database())
    try:
        upgrade(db)
        first = make_scheduler()
        first.start(paused=True)
        Jobs(first, JobTable(db)).expire(7, datetime(2030, 1, 1, tzinfo=UTC))
        first.shutdown(wait=False)
        again = make_scheduler()
        assert Jobs(again, JobTable(db)).restore() == 1
        again.start(paused=True)
        assert [(j.id, j.next_run_time) for j in again.get_jobs()] == [
            ("expire-request-7", datetime(2030, 1, 1, tzinfo=UTC))
        ]
        again.shutdown(wait=False)
    finally:
        db.close()


def test_postgresql_apscheduler_rows_become_definitions_without_loading_a_pickle(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    db = Database.from_url(postgres.create_database())
    try:
        upgrade(db, revision="0007")
        with db.engine.begin() as connection:  # as APScheduler's SQLAlchemyJobStore made it
            connection.exec_driver_sql(
                "CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, "
                "next_run_time DOUBLE PRECISION, job_state BYTEA NOT NULL)"
            )
            connection.execute(
                text("INSERT INTO apscheduler_jobs VALUES (:id, :at, :state)"),
                [
                    {"id": "purge-at-window-4", "at": 1893531600.0, "state": payload(marker)},
                    {"id": "pwned", "at": 1893531600.0, "state": payload(marker)},
                ],
            )
        upgrade(db)
        [job] = map(job_def, JobTable(db).rows())
        assert job == JobDef(
            "purge-at-window-4",
            "purge_at_window",
            (4, "2030-01-01T21:00:00+00:00"),
            datetime(2030, 1, 1, 21, tzinfo=UTC),
            None,
        )
        assert not inspect(db.engine).has_table("apscheduler_jobs")
        assert not marker.exists()
    finally:
        db.close()
