"""The audit trail's hash chain: every writer's rows are chained, an edited or deleted row is found at
that row, concurrent writers do not fork the chain, and the exports verify."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.audit import trail
from bot.audit.actors import remember
from bot.core.model import StepState
from bot.store.runs import Store
from tests.databases import open_store


class EastClock:
    """Gives times in UTC+08:00, which SQLite would store as if they were UTC."""

    def now(self) -> datetime:
        return datetime(2026, 12, 4, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8)))


def a_night(url: str) -> Store:
    """A store with rows from the store's own writers: a run, a step, a decision."""
    store = open_store(url)
    run = store.open_run("UALICE", "C1")
    step = store.start_step(run.id, "inventory", "UALICE")
    assert step is not None
    store.finish_step(step.id, StepState.SUCCEEDED, summary="recorded")
    store.audit("UBOB", "restore.override", run.id, {"reason": "the backup is on tape", "nodes": [1, 2]})
    store.audit("cli:carol", "window.cancelled", run.id, {})
    return store


def sql(store: Store, statement: str) -> None:
    with store.db.engine.begin() as connection:
        connection.execute(text(statement))


def test_an_untouched_trail_holds(tmp_path: Path) -> None:
    store = a_night(f"sqlite:///{tmp_path / 'r.db'}")
    verdict = trail.verify(store.db)
    rows = trail.read(store.db)
    assert verdict.broken is None and verdict.rows == len(rows) == 5
    assert verdict.head == rows[-1]["hash"] and rows[0]["prev"] == "0" * 64
    assert [r["prev"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]


@pytest.mark.parametrize(
    "edit",
    [
        'UPDATE audit SET detail = \'{"reason": "no backup needed", "nodes": [1, 2]}\' WHERE id = 4',
        "UPDATE audit SET actor = 'UMALLORY' WHERE id = 4",
        "UPDATE audit SET at = '2026-12-05 10:00:00.000000' WHERE id = 4",
        "UPDATE audit SET run_id = 99 WHERE id = 4",
    ],
)
def test_an_edited_row_is_found_at_that_row(tmp_path: Path, edit: str) -> None:
    store = a_night(f"sqlite:///{tmp_path / 'r.db'}")
    sql(store, edit)
    verdict = trail.verify(store.db)
    assert verdict.broken is not None and verdict.broken.row == 4
    assert "changed" in verdict.broken.problem and verdict.rows == 3
    assert "BROKEN at audit row 4" in str(verdict)


def test_a_deleted_row_is_found_at_the_row_after_it(tmp_path: Path) -> None:
    store = a_night(f"sqlite:///{tmp_path / 'r.db'}")
    sql(store, "DELETE FROM audit WHERE id = 2")
    verdict = trail.verify(store.db)
    assert verdict.broken is not None and verdict.broken.row == 3 and "deleted" in verdict.broken.problem


def test_a_row_rechained_without_its_hash_recomputed_is_found(tmp_path: Path) -> None:
    # Deleting row 2 and pointing row 3 at row 1 is caught by row 3's own hash.
    store = a_night(f"sqlite:///{tmp_path / 'r.db'}")
    sql(store, "DELETE FROM audit WHERE id = 2")
    sql(store, "UPDATE audit SET prev = (SELECT hash FROM audit WHERE id = 1) WHERE id = 3")
    broken = trail.verify(store.db).broken
    assert broken is not None and broken.row == 3 and "changed" in broken.problem


def test_actors_are_named_and_times_are_stored_in_utc(tmp_path: Path) -> None:
    remember("UALICE", "alice")
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}", EastClock())
    run = store.open_run("UALICE", "C1")
    store.audit("cli:carol", "window.cancelled", run.id, {})
    store.audit("regclean", "purge.expired", run.id, {})
    store.audit("UNOBODY", "purge.approved", run.id, {})
    rows = trail.read(store.db)
    assert [(r["actor"], r["actor_name"]) for r in rows] == [
        ("UALICE", "alice"),
        ("cli:carol", "carol"),
        ("regclean", "regclean"),
        ("UNOBODY", None),
    ]
    assert rows[0]["at"] == "2026-12-04T02:30:00.123456+00:00"
    assert trail.verify(store.db).broken is None


def test_concurrent_writers_do_not_fork_the_chain(database_url: str) -> None:
    # Two stores (two engines, as two processes would have) write at once.
    first = open_store(database_url)
    run = first.open_run("UALICE", "C1")
    stores = [first, open_store(database_url)]
    start = threading.Barrier(2)

    def write(store: Store, who: str) -> None:
        start.wait()
        for n in range(15):
            store.audit(who, "test.write", run.id, {"n": n})

    threads = [threading.Thread(target=write, args=(s, f"U{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = trail.verify(first.db)
    assert verdict.broken is None and verdict.rows == 31


def test_the_exports_carry_the_chain_and_neutralise_formulas(tmp_path: Path) -> None:
    store = a_night(f"sqlite:///{tmp_path / 'r.db'}")
    store.audit("UEVE", '=HYPERLINK("http://x")', 1, {"note": "@SUM(A1)"})
    rows = trail.read(store.db)
    exported = trail.parse_jsonl(trail.render(rows, "jsonl"))
    assert exported == rows and trail.verify_rows(exported).broken is None
    exported[1]["detail"]["step"] = 7
    broken = trail.verify_rows(exported).broken
    assert broken is not None and broken.row == 2
    table = list(csv.reader(io.StringIO(trail.render(rows, "csv"))))
    assert table[0] == list(trail.COLUMNS) and len(table) == 7
    last = dict(zip(trail.COLUMNS, table[-1], strict=True))
    assert last["action"] == '\'=HYPERLINK("http://x")'
    assert json.loads(last["detail"]) == {"note": "@SUM(A1)"} and last["hash"] == rows[-1]["hash"]
