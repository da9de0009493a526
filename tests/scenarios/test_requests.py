"""Request verification, health, and Slack's limits with a large inventory."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import aiohttp
import pytest

from sandbox.kube.fixtures import generate_fixture
from sandbox.registry import S3Server
from sandbox.stack import RunningBot, Sandbox, running_bot
from tests.scenarios.conftest import installed_names, inventory_done, record_large_inventory, root, text_of


async def test_a_forged_signature_is_refused_with_401(http_bot: RunningBot, sandbox: Sandbox) -> None:
    reply = await http_bot.driver.slash("UALICE", "inventory", signature="forged")
    assert reply.status == 401
    assert await http_bot.bot.runbook.status() is None
    assert root(sandbox.slack) is None


async def test_a_missing_signature_is_refused_with_401(http_bot: RunningBot) -> None:
    reply = await http_bot.driver.slash("UALICE", "inventory", signature="missing")
    assert reply.status == 401


async def test_a_stale_timestamp_is_refused_with_401(http_bot: RunningBot) -> None:
    reply = await http_bot.driver.slash("UALICE", "inventory", timestamp=int(time.time()) - 10 * 60)
    assert reply.status == 401
    assert await http_bot.bot.runbook.status() is None


#: bodies no Slack would send: broken JSON, a payload that is not an object, bytes that are not UTF-8
HOSTILE_BODIES = [
    b"payload=%7Bnot-json",
    b"payload=%5B1%5D",
    b"payload=null",
    b"payload=1",
    b'{"type": ',
    b"payload=%22a+string%22",
    b"\xff\xfe\x00payload",
]


async def test_an_unreadable_body_is_401_unsigned_and_400_signed_with_one_log_line_each(
    http_bot: RunningBot, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with caplog.at_level(logging.WARNING):
        unsigned = [(await http_bot.driver.post_raw(body, form)).status for body in HOSTILE_BODIES * 20]
        signed = [(await http_bot.driver.post_raw(body, form, sign=True)).status for body in HOSTILE_BODIES]
    forged = {**form, "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=é"}
    unsigned.append((await http_bot.driver.post_raw(b"command=%2Fregclean", forged)).status)
    assert set(unsigned) == {401}
    assert signed == [400] * len(HOSTILE_BODIES)
    refusals = [r for r in caplog.records if r.name == "handlers.http_events"]
    assert len(refusals) == len(unsigned) + len(signed)
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    assert not any("payload" in r.getMessage() and "%" in r.getMessage() for r in refusals), "no body logged"
    # and the bot still answers
    assert (await http_bot.driver.slash("UALICE", "help")).status == 200


async def test_a_captured_signed_command_sent_again_is_refused_and_runs_once(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    assert (await http_bot.driver.slash("UALICE", "inventory")).status == 200
    await inventory_done(sandbox.slack)
    assert (await http_bot.driver.replay()).status == 401
    assert (await http_bot.driver.replay()).status == 401
    status = await http_bot.bot.runbook.status()
    assert status is not None
    inventories = [s for s in status.steps if s.name == "inventory"]
    assert len(inventories) == 1, inventories


async def test_healthz_answers_without_a_signature(http_bot: RunningBot) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{http_bot.url}/healthz") as response:
        body = await response.json()
    assert response.status == 200
    assert body == {"ok": True, "runner": True, "scheduler": True}


async def test_1200_operators_over_40_clusters_post_without_a_message_slack_would_reject(
    tmp_path: Path, s3: S3Server
) -> None:
    box, checklist = await record_large_inventory(
        tmp_path / "big", generate_fixture(operators=1200, clusters=40, plugins=300), s3
    )
    assert box.slack.rejections == []
    assert "✅" in text_of(checklist)
    thread = box.slack.thread(checklist.ts)
    assert len(thread) > 3, "the tables are split across several thread messages"
    tables = "\n".join(text_of(m) for m in thread)
    assert [name for name in installed_names(box) if name not in tables] == []
    assert "over *40* clusters" in text_of(thread[0])


async def test_a_restart_marks_the_running_step_interrupted_on_the_checklist(sandbox: Sandbox) -> None:
    sandbox.kube.set_latency(2.0)
    async with running_bot(sandbox, "http") as first:
        await first.driver.slash("UALICE", "inventory")
        await sandbox.slack.wait_for(lambda w: root(w) is not None and "⏳" in text_of(root(w)))
    # the bot stopped while recording; a new process takes over the same database
    sandbox.kube.set_latency(0)
    async with running_bot(sandbox, "http") as second:
        run = await second.bot.runbook.status()
        assert run is not None
        assert [s.state.value for s in run.steps] == ["interrupted"]
        checklist = await sandbox.slack.wait_for(
            lambda w: root(w) is not None and "⚠️ *Record operators" in text_of(root(w)) and root(w)
        )
        assert "interrupted" in text_of(checklist)
        told = await sandbox.slack.wait_for(
            lambda w: [e for e in w.ephemerals if e.user == "UALICE" and "was interrupted" in e.text]
        )
        assert "Record it again with `/regclean inventory`" in told[0].text
        await second.driver.slash("UALICE", "inventory")
        done = await inventory_done(sandbox.slack)
        assert done.ts == checklist.ts, "the same run goes on in the same root message"
