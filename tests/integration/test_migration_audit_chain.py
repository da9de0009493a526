"""Revision 0009 chains the audit rows already there: a release's database, and rows written before
the revision on SQLite and PostgreSQL, verify after the upgrade, and new rows chain onto them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.audit import trail
from bot.store.database import Database
from bot.store.migrate import upgrade
from bot.store.runs import Store
from tests.integration.test_migrations import RELEASE_DB


def test_the_release_databases_audit_rows_are_chained(tmp_path: Path) -> None:
    copy = tmp_path / "regclean.db"
    shutil.copyfile(RELEASE_DB, copy)
    db = Database.from_url(f"sqlite:///{copy}")
    with db.engine.connect() as connection:
        before = connection.execute(text("SELECT id, actor, action, detail FROM audit ORDER BY id")).all()
    upgrade(db)
    rows = trail.read(db)
    assert [(r["id"], r["actor"], r["action"]) for r in rows] == [(b.id, b.actor, b.action) for b in before]
    verdict = trail.verify(db)
    assert before and verdict.broken is None and verdict.rows == len(before)
    names = {r["actor"]: r["actor_name"] for r in rows}
    assert names["regclean"] == "regclean" and names["UALICE"] is None
    Store(db).audit("UALICE", "restore.override", 2, {})
    after = trail.read(db)
    assert after[-1]["id"] == before[-1].id + 1 and after[-1]["prev"] == verdict.head
    assert trail.verify(db).rows == len(before) + 1
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit SET actor = 'UMALLORY' WHERE id = 10"))
    broken = trail.verify(db).broken
    assert broken is not None and broken.row == 10


def test_rows_written_before_the_revision_are_chained_on_each_database(database_url: str) -> None:
    db = Database.from_url(database_url)
    upgrade(db, revision="0008")
    with db.engine.begin() as connection:
        for n, actor in enumerate(["UALICE", "regclean", "cli:carol"], start=1):
            connection.execute(
                text(
                    "INSERT INTO audit (id, at, actor, action, run_id, detail) VALUES (:id, :at, :a, 'x', NULL, :d)"
                ),
                {
                    "id": n * 2,
                    "at": datetime(2026, 12, 1, 2, n, tzinfo=UTC),
                    "a": actor,
                    "d": f'{{"n": {n}}}',
                },
            )
    upgrade(db)
    verdict = trail.verify(db)
    assert verdict.broken is None and verdict.rows == 3
    assert [r["actor_name"] for r in trail.read(db)] == [None, "regclean", "carol"]
    Store(db).audit("UALICE", "window.cancelled", 1, {})
    with (
        db.engine.begin() as connection
    ):  # the release before, after a downgrade, lets the database pick the id
        connection.execute(
            text("INSERT INTO audit (at, actor, action, detail) VALUES (:at, 'UBOB', 'x', '{}')"),
            {"at": datetime(2026, 12, 2, tzinfo=UTC)},
        )
    broken = trail.verify(db).broken
    assert broken is not None and broken.row == 8 and "carries no hash" in broken.problem
    db.close()
