"""`/regclean audit` through the real Bolt app: the trail as a JSON Lines file in the run's thread,
whose rows verify and name their actors; an edited row is said with the upload; a bad argument is named."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.audit import trail
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import BOTH_MODES, inventory_done

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


@BOTH_MODES
async def test_audit_uploads_the_trail_whose_rows_verify(bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    await bot.driver.slash("UALICE", "inventory")
    checklist = await inventory_done(ws)
    await ws.wait_for(lambda w: len(w.files) >= 2)
    reply = await bot.driver.slash("UBOB", "audit")
    assert reply.status == 200
    upload = await ws.wait_for(lambda w: next((f for f in w.files if f.name.endswith(".jsonl")), None))
    rows = trail.parse_jsonl(upload.content.decode())
    assert trail.verify_rows(rows).broken is None
    assert [(r["actor"], r["actor_name"], r["action"]) for r in rows[:2]] == [
        ("UALICE", "alice", "run.opened"),
        ("UALICE", "alice", "inventory.started"),
    ]
    assert upload.name == "regclean-audit-all.jsonl" and upload.thread_ts == checklist.ts
    assert upload.initial_comment is not None and "The audit trail holds" in upload.initial_comment


async def test_audit_of_one_run_and_a_bad_argument(bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    await bot.driver.slash("UALICE", "inventory")
    await inventory_done(ws)
    await bot.driver.slash("UALICE", "audit 1")
    upload = await ws.wait_for(lambda w: next((f for f in w.files if f.name.endswith(".jsonl")), None))
    assert upload.name == "regclean-audit-run1.jsonl"
    assert {r["run_id"] for r in trail.parse_jsonl(upload.content.decode())} == {1}
    await bot.driver.slash("UALICE", "audit last")
    said = [e.text for e in ws.ephemerals if e.user == "UALICE"]
    assert any("`audit` takes a run's number or nothing, but got `last`" in text for text in said)
    with bot.bot.store.db.engine.begin() as connection:  # someone edits the database
        connection.execute(text("UPDATE audit SET actor = 'UMALLORY' WHERE id = 2"))
    await bot.driver.slash("UALICE", "audit")
    again = await ws.wait_for(
        lambda w: next((f for f in w.files if f.name == "regclean-audit-all.jsonl"), None)
    )
    assert again.initial_comment is not None and ":rotating_light:" in again.initial_comment
    assert "BROKEN at audit row 2: it was changed after it was written" in again.initial_comment
