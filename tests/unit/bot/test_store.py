"""The store: one active run, conditional step transitions, snapshots as stored."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from bot.core.model import StepState
from bot.steps.inventory.codec import decode_inventory, inventory_lines
from bot.store.database import Database
from bot.store.runs import Store
from tests.databases import open_store

# Every test runs on SQLite and on PostgreSQL (`database_url`, tests/conftest.py).


def test_at_most_one_run_is_active(database_url: str) -> None:
    s = open_store(database_url)
    first = s.open_run("UALICE", "C1")
    again = s.open_run("UBOB", "C2")
    assert again.id == first.id and again.opened_by == "UALICE"


def test_a_finished_step_is_not_finished_twice(database_url: str) -> None:
    s = open_store(database_url)
    run = s.open_run("UALICE", "C1")
    step = s.start_step(run.id, "inventory", "UALICE")
    assert step is not None
    s.finish_step(step.id, StepState.FAILED, error="boom")
    after = s.finish_step(step.id, StepState.SUCCEEDED, summary="too late")
    assert after.state is StepState.FAILED and after.error == "boom"
    finished = [
        e.action
        for e in s.audit_log(run.id)
        if e.action.startswith("inventory.") and e.action != "inventory.started"
    ]
    assert finished == ["inventory.failed"]


def test_a_snapshot_round_trips_through_its_stored_form(database_url: str) -> None:
    inventory = Inventory(
        operators=(OperatorRow("global", "rds-operator", "Installed", "rds-operator", None, "RDS 数据库"),),
        plugins=(PluginRow("volcano", "aligned", (Installation("global", "v4.2.3"),), None),),
        operators_not_installed=2,
        plugins_left_out={"core": 1},
        sources={"operatorviews": "app.alauda.io/v1alpha1"},
    )
    s = open_store(database_url)
    run = s.open_run("UALICE", "C1")
    step = s.start_step(run.id, "inventory", "UALICE")
    assert step is not None
    saved = s.save_inventory(
        run.id, step.id, "UALICE", s.db.clock.now(), "\n".join(inventory_lines(inventory))
    )
    loaded = s.latest_inventory()
    assert loaded is not None and loaded.id == saved.id
    assert loaded.inventory == inventory
    assert decode_inventory("\n".join(inventory_lines(inventory))) == inventory
    assert s.latest_inventory(skip_id=saved.id).inventory is None  # type: ignore[union-attr]


def test_concurrent_callers_share_one_active_run_and_one_running_step(database_url: str) -> None:
    # Each caller checks, then inserts: only the database's unique indexes make that atomic.
    stores = [open_store(database_url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))

    def open_and_start(store: Store) -> tuple[int, bool]:
        barrier.wait()
        run = store.open_run("UALICE", "C1")
        barrier.wait()
        return run.id, store.start_step(run.id, "backup", "UALICE") is not None

    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(open_and_start, stores))
    assert len({run_id for run_id, _ in outcomes}) == 1
    assert sum(started for _, started in outcomes) == 1
    for store in stores:
        store.close()


def test_the_sqlite_file_and_a_directory_made_for_it_are_the_bots_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "regclean.db"
    db = Database.from_url(f"sqlite:///{path}")
    try:
        with db.session() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        db.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    for journal in path.parent.glob("regclean.db-*"):  # WAL and shared memory take the file's mode
        assert journal.stat().st_mode & 0o777 == 0o600, journal


def test_an_existing_sqlite_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "regclean.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    Database.from_url(f"sqlite:///{path}").close()
    assert path.stat().st_mode & 0o777 == 0o600
