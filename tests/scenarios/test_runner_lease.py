"""Two bots on one database: only the holder of the runner lease runs steps and the scheduler; the
other waits (not ready), leaves the holder's steps alone, and takes over once the lease is free."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Bot, build, connected
from bot.cli import main
from bot.config.settings import Settings
from bot.core.model import StepState
from bot.runner import LeaseHeld
from bot.store.lease import Holder, RunnerLease
from bot.store.migrate import open_database
from bot.store.runs import Store
from sandbox.clock import SettableClock
from sandbox.slack import SlackDriver
from sandbox.stack import Mode, Sandbox, running_bot

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)

LEASE = {"REGCLEAN_RUNNER_LEASE_SECONDS": "1"}
"""A short lease: a waiting bot tries again every third of a second."""
TAKEOVER_WITHIN = 20.0


async def readyz(bot: Bot) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{bot.health_url}/readyz") as response:
        return response.status, await response.json()


def second_bot(sandbox: Sandbox, mode: Mode, clock: SettableClock | None = None) -> Bot:
    """Another replica: its own host name, on the sandbox's database."""
    settings = Settings.load({**sandbox.environment(mode), **LEASE})
    return build(settings, clock=clock or SettableClock(), holder=Holder(uuid.uuid4().hex, "replica-b", 77))


def running_step(store: Store) -> int:
    """A backup step running in the holder's run, as the database shows it."""
    run = store.open_run("UALICE", "C1")
    step = store.start_step(run.id, "backup", "UALICE")
    assert step is not None
    return step.id


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_the_second_bot_waits_without_touching_the_first_ones_steps_then_takes_over(
    mode: Mode, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    first_cm = running_bot(sandbox, mode, LEASE)
    first = await first_cm.__aenter__()
    first_running = True
    try:
        step = running_step(first.bot.store)
        second = second_bot(sandbox, mode)
        with caplog.at_level(logging.INFO, logger="bot"):
            async with connected(second) as url:
                status, body = await readyz(second)
                assert status == 503 and body["not_ready"] == ["runner_lease", "scheduler"]
                holder = f"another regclean (host {socket.gethostname()}, pid {os.getpid()})"
                assert body["checks"]["runner_lease"].startswith(f"{holder} holds the runner lease until ")
                assert f"{holder} holds the runner lease until " in caplog.text and "; waiting" in caplog.text
                assert not second.scheduler.running and not second.started.is_set()
                if url is not None:  # HTTP mode: requests are refused until it runs
                    reply = await SlackDriver(sandbox.slack, events_url=f"{url}/slack/events").slash(
                        "UALICE", "inventory"
                    )
                    assert reply.status == 503
                else:  # Socket Mode: Slack would hand it envelopes, so it does not connect yet
                    assert len(sandbox.slack.socket.connections) == 1
                assert first.bot.store.run_step(step).state is StepState.RUNNING

                first_running = False
                await first_cm.__aexit__(None, None, None)  # a clean stop gives the lease up
                await asyncio.wait_for(second.started.wait(), TAKEOVER_WITHIN)
                assert "took the runner lease (host replica-b, pid 77)" in caplog.text
                assert second.store.run_step(step).state is StepState.INTERRUPTED
                assert second.scheduler.running
                assert (await readyz(second))[0] == 200
                if url is None:
                    await sandbox.slack.wait_for(lambda ws: len(ws.socket.connections) == 1, timeout=10)
    finally:
        if first_running:
            await first_cm.__aexit__(None, None, None)


async def test_a_crashed_holder_is_taken_over_only_once_its_lease_expires(sandbox: Sandbox) -> None:
    url = sandbox.environment("http")["DATABASE_URL"]
    clock = SettableClock()
    db = open_database(url, clock)
    crashed = RunnerLease(db, Holder("crashed", "replica-a", 4242), timedelta(hours=1))
    crashed.acquire()  # and then the process died, with a step running
    step = running_step(Store(db))
    second = second_bot(sandbox, "http", clock)
    async with connected(second):
        status, body = await readyz(second)
        assert (
            status == 503 and "another regclean (host replica-a, pid 4242)" in body["checks"]["runner_lease"]
        )
        assert Store(db).run_step(step).state is StepState.RUNNING
        clock.advance(timedelta(hours=1))
        await asyncio.wait_for(second.started.wait(), TAKEOVER_WITHIN)
        assert Store(db).run_step(step).state is StepState.INTERRUPTED
        assert (await readyz(second))[0] == 200
    db.close()


async def test_the_holder_that_lost_its_lease_stops_its_scheduler_and_is_not_ready(sandbox: Sandbox) -> None:
    async with running_bot(sandbox, "http", {"REGCLEAN_RUNNER_LEASE_SECONDS": "3"}) as first:
        later = SettableClock()
        later.advance(timedelta(minutes=5))  # a process that finds the first one's lease long expired
        thief = RunnerLease(
            open_database(sandbox.environment("http")["DATABASE_URL"], later),
            Holder("thief", "replica-x", 9),
            timedelta(minutes=10),
        )
        assert thief.acquire().holder.id == "thief"
        await asyncio.wait_for(first.bot.halted.wait(), TAKEOVER_WITHIN)
        assert first.bot.halt_reason == (
            "the runner lease is now held by another regclean (host replica-x, pid 9)"
        )
        assert not first.bot.scheduler.running
        status, body = await readyz(first.bot)
        assert status == 503 and body["checks"]["runner_lease"].startswith("lost: ")
        thief.db.close()


def test_serve_no_wait_refuses_while_another_process_holds_the_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'regclean.db'}"
    db = open_database(url)
    RunnerLease(db, Holder("other", "replica-a", 4242), timedelta(minutes=5)).acquire()
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "test",
        "DATABASE_URL": url,
        "REGCLEAN_HOST": "127.0.0.1",
        "REGCLEAN_PORT": "0",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--no-wait"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "regclean: another regclean (host replica-a, pid 4242) holds the runner lease until "
    )
    assert err.rstrip().endswith("; not waiting (--no-wait).")
    db.close()


async def test_starting_while_another_process_holds_the_lease_raises_lease_held(sandbox: Sandbox) -> None:
    async with running_bot(sandbox, "http"):
        second = second_bot(sandbox, "http")
        with pytest.raises(LeaseHeld, match=r"holds the runner lease until .*; not waiting"):
            await second.start()
        await second.stop()
