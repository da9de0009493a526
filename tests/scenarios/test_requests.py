"""Request verification, health, and Slack's limits with a large inventory."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp

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
