"""`/regclean backup` through the real Bolt app: progress in place, the per-node table, refusals."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from bot.core.notifier import Requester
from sandbox.nodes import gate_missing
from sandbox.slack import Message, SlackWorkspace
from sandbox.stack import RunningBot, Sandbox, running_bot
from tests.scenarios.conftest import BOTH_MODES, root, text_of
from tests.scenarios.flow import ready_for_purge

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


def backup_message(ws: SlackWorkspace) -> Message | None:
    top = root(ws)
    if top is None:
        return None
    return next((m for m in ws.thread(top.ts) if "Backup of MinIO" in text_of(m)), None)


async def finished_backup(ws: SlackWorkspace) -> Message:
    def done(w: SlackWorkspace) -> Message | None:
        message = backup_message(w)
        return message if message is not None and "nodes have a verified backup" in text_of(message) else None

    return await ws.wait_for(done, timeout=30)


@BOTH_MODES
async def test_backup_posts_progress_then_a_verified_table_for_every_node(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    reply = await bot.driver.slash("UALICE", "backup")
    assert reply.status == 200
    table = await finished_backup(ws)
    text = text_of(table)
    assert "*3 of 3* nodes have a verified backup" in text
    for address in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
        assert f"{address}-minio.tar" in text
        assert (sandbox.nodes.nodes[address].backup_dir / f"{address}-minio.tar").exists()
    assert table.updates >= 1, "the progress message was updated in place into the table"
    checklist = await ws.wait_for(lambda w: root(w) if "✅ *Back up" in text_of(root(w)) else None)
    assert "3 of 3 nodes verified" in text_of(checklist)
    run = await bot.bot.runbook.status()
    assert run is not None
    stored = bot.bot.store.latest_backups(run.id)
    assert [(b.address, b.verified) for b in stored] == [
        ("127.0.0.11", True),
        ("127.0.0.12", True),
        ("127.0.0.13", True),
    ]
    assert all(b.sha256 and b.entries and b.bytes for b in stored)


async def test_a_failed_node_fails_the_step_and_the_others_are_kept(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    sandbox.nodes.nodes["127.0.0.12"].refuse()
    await bot.driver.slash("UALICE", "backup")
    table = await finished_backup(ws)
    assert "*2 of 3* nodes have a verified backup" in text_of(table)
    assert "Cannot reach 127.0.0.12" in text_of(table)
    private = await ws.wait_for(
        lambda w: [e for e in w.ephemerals if e.user == "UALICE" and e.source == "chat.postEphemeral"]
    )
    assert "127.0.0.12" in private[0].text
    checklist = await ws.wait_for(lambda w: root(w) if "❌ *Back up" in text_of(root(w)) else None)
    assert "2 of 3 nodes verified" in text_of(checklist)


async def test_only_operators_may_back_up(bot: RunningBot, sandbox: Sandbox) -> None:
    await bot.driver.slash("UBOB", "backup")
    [ack] = [e for e in sandbox.slack.ephemerals if e.user == "UBOB"]
    assert "for operators only" in ack.text
    assert sandbox.nodes.nodes["127.0.0.11"].commands == []


async def test_a_second_backup_is_refused_while_one_runs(http_bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    node = sandbox.nodes.nodes["127.0.0.13"]
    node.blackhole()  # keeps the first backup busy until its connect timeout
    await http_bot.driver.slash("UALICE", "backup")
    await ws.wait_for(lambda w: root(w) is not None and "⏳ *Back up" in text_of(root(w)))
    await http_bot.driver.slash("UOSCAR", "backup")
    refused = await ws.wait_for(
        lambda w: [e for e in w.ephemerals if e.user == "UOSCAR" and "already running" in e.text]
    )
    assert "backup step of run #1 is already running" in refused[0].text
    await finished_backup(ws)


async def never_run(*_: object) -> None:
    raise AssertionError("a refused request ran its step")


async def test_a_flood_of_the_same_command_gets_one_start_and_one_already_running(sandbox: Sandbox) -> None:
    """A person who asks 100 times while a step runs is told twice, not 200 times; others are not held back."""
    ws = sandbox.slack
    node = sandbox.nodes.nodes["127.0.0.13"]
    node.blackhole()  # the backup stays busy until its faults are cleared (the connect timeout is longer)
    async with running_bot(sandbox, "http", {"REGCLEAN_SSH_CONNECT_TIMEOUT": "120"}) as http_bot:
        await http_bot.driver.slash("UALICE", "backup")
        await ws.wait_for(lambda w: root(w) is not None and "⏳ *Back up" in text_of(root(w)))
        replies = await asyncio.gather(*(http_bot.driver.slash("UOSCAR", "backup") for _ in range(100)))
        assert all(reply.status == 200 for reply in replies)
        # The same request, awaited: once these are refused, so were those spawned before them.
        oscar = Requester("UOSCAR", ws.channel_id)
        engine = http_bot.bot.runbook.engine
        results = await asyncio.gather(*(engine.requested(oscar, "backup", never_run) for _ in range(20)))
        assert results == [None] * 20
        await ws.wait_for(
            lambda w: [e for e in w.ephemerals if e.user == "UOSCAR" and "already running" in e.text]
        )
        await http_bot.driver.slash("UALICE", "inventory")  # another answer to someone else still goes out
        assert [e.text for e in ws.ephemerals if e.user == "UALICE"][-1].startswith("Recording")
        node.clear_faults()
        await http_bot.bot.runbook.drain()
    shown = [e.text for e in ws.ephemerals if e.user == "UOSCAR"]
    assert len([t for t in shown if t.startswith("Backing up")]) == 1, shown
    assert len([t for t in shown if "already running" in t]) == 1, shown
    assert len(shown) == 2, shown


@pytest.mark.skipif(gate_missing() is not None, reason=str(gate_missing()))
async def test_a_backup_of_a_live_minio_lists_what_minio_changed_and_a_second_run(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    for node in sandbox.nodes.nodes.values():
        node.scanner.start()
    changed = sandbox.nodes.nodes["127.0.0.12"].scanner.change_objects(times=1)
    await bot.driver.slash("UALICE", "backup")
    text = text_of(await finished_backup(ws))
    assert "*3 of 3* nodes have a verified backup" in text
    assert "`127.0.0.12` archived 2 times: object data changed during the first" in text and changed in text
    assert all(
        f"`{a}` tolerated, MinIO's bookkeeping: .minio.sys/buckets/" in text for a in sandbox.nodes.nodes
    )
    assert "Left out of every archive: .minio.sys/tmp: " in text
    run = await bot.bot.runbook.status()
    assert run is not None
    stored = {b.address: b for b in bot.bot.store.latest_backups(run.id)}
    assert stored["127.0.0.12"].attempts == 2 and changed in stored["127.0.0.12"].first_attempt[0]
    assert [stored[a].attempts for a in ("127.0.0.11", "127.0.0.13")] == [1, 1]
    assert all(b.tolerated and b.excluded and b.verified for b in stored.values())


async def test_a_backup_after_a_purge_request_keeps_the_archives_the_request_names(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await ready_for_purge(http_bot, sandbox)
    named = {
        a: sandbox.nodes.nodes[a].backup_dir / f"{a}-minio.tar"
        for a in ("127.0.0.11", "127.0.0.12", "127.0.0.13")
    }
    before = {a: hashlib.sha256(p.read_bytes()).hexdigest() for a, p in named.items()}
    sandbox.nodes.nodes["127.0.0.11"].minio_dir.joinpath("registry", "later-object").write_bytes(b"x" * 4096)

    await http_bot.driver.slash("UALICE", "backup")
    # the new table names the new archives (each node's archive is named in the request)
    table = await ws.wait_for(
        lambda w: next((m for m in w.messages if text_of(m).count("-minio.run") == 3), None), timeout=60
    )
    assert "*3 of 3* nodes have a verified backup" in text_of(table)
    assert {a: hashlib.sha256(p.read_bytes()).hexdigest() for a, p in named.items()} == before
    run = await http_bot.bot.runbook.status()
    assert run is not None
    backup_steps = [s for s in run.steps if s.name == "backup"]
    new = {b.address: b.archive for b in http_bot.bot.store.latest_backups(run.id)}
    step_id = backup_steps[-1].id
    assert new == {a: str(p.with_name(f"{a}-minio.run{run.id}.step{step_id}.tar")) for a, p in named.items()}
    assert all(Path(path).exists() for path in new.values())
