"""The bot on a Slack as strict as Slack: per-method tiers with Retry-After, 5xx bursts and dropped
connections (sandbox/slack/ratelimit.py), on simulated time so that a minute's limit costs a
fraction of a second. No message may end up older than what the bot last meant to show, no reply
may be lost, and what Slack shows must be what the store says, also after a restart."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import build, connected
from bot.config.settings import Settings
from bot.core.model import RunState, RunView
from handlers.blocks.run import checklist_blocks, checklist_text
from sandbox.clock import SettableClock
from sandbox.slack import Message, SlackDriver, SlackWorkspace
from sandbox.slack.ratelimit import FastTime
from sandbox.slack.validation import parse_blocks
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import inventory_done, root
from tests.scenarios.flow import in_thread, purged, request_message, restored_and_closed

SPEED = 20.0
"""Simulated seconds per real one: a minute's window is 3 s, a `Retry-After: 60` 3 s too; faster,
and the real time the cluster work takes would stretch every minute past Slack's limits."""


@contextlib.asynccontextmanager
async def strict_bot(sandbox: Sandbox, time: FastTime) -> AsyncIterator[RunningBot]:
    """The bot as `regclean serve` builds it (HTTP mode), waiting for Slack on `time`."""
    clock = SettableClock()
    # The sandbox's pace of thread posts (0.01 s) is faster than Slack's one a second: it meets the limit.
    settings = Settings.load(sandbox.environment("http"))
    bot = build(settings, clock=clock, slack_time=time)
    bot.flush_seconds = 1.0  # stopping gives up on an update Slack never takes; the next start shows it
    async with connected(bot) as url:
        yield RunningBot(bot, SlackDriver(sandbox.slack, events_url=f"{url}/slack/events"), url, clock)


def blocks_json(blocks: Any) -> str:
    return json.dumps(parse_blocks(blocks) or [], sort_keys=True)


def shown(message: Message) -> tuple[str, str]:
    return message.text, json.dumps(message.blocks, sort_keys=True)


def from_store(run: RunView) -> tuple[str, str]:
    """The checklist as the bot renders it from the stored run (no step is running: no progress)."""
    return checklist_text(run), blocks_json(json.dumps(checklist_blocks(run, {})))


def last_updates(ws: SlackWorkspace) -> dict[str, tuple[str, str]]:
    """Each message's newest content the bot sent with chat.update (landed or not)."""
    newest: dict[str, tuple[str, str]] = {}
    for method, params in ws.calls:
        if method == "chat.update":
            newest[str(params["ts"])] = (str(params.get("text") or ""), blocks_json(params.get("blocks")))
    return newest


def attempted_posts(ws: SlackWorkspace) -> set[tuple[str | None, str, str]]:
    """Every message the bot tried to post: where, its text and its blocks."""
    return {
        (
            str(p["thread_ts"]) if p.get("thread_ts") else None,
            str(p.get("text") or ""),
            blocks_json(p.get("blocks")),
        )
        for method, p in ws.calls
        if method == "chat.postMessage"
    }


@pytest.mark.timeout(300)  # the golden path on real servers: purge and restores take most of it
async def test_the_golden_path_under_slacks_limits_and_failures_loses_nothing(sandbox: Sandbox) -> None:
    ws, time = sandbox.slack, FastTime(SPEED)
    ws.strict(time)
    for method in ("chat.update", "chat.postMessage"):
        ws.fail_every(method, 503, every=4, times=4)  # a burst of 5xx, more than a client's retries
        ws.fail_every(method, 500, every=9, times=2)
        ws.fail_every(method, "drop", every=13, times=2)  # connections closed unanswered
        ws.fail_every(method, 429, every=6, times=8)  # limits not published (workspace-wide, special)
    async with strict_bot(sandbox, time) as bot:
        await purged(bot, sandbox)
        await restored_and_closed(bot, sandbox)
        await bot.bot.runbook.drain()  # the close step ends after its report: its last show() too
        await bot.bot.notifier.flush()

        limited = {r.method for r in ws.rejections if r.error == "ratelimited"}
        failed = {(r.method, r.error) for r in ws.rejections if r.error != "ratelimited"}
        assert {"chat.postMessage", "chat.update"} <= limited, "Slack's limits were never reached"
        for method in ("chat.update", "chat.postMessage"):
            assert {(method, "HTTP 503"), (method, "HTTP 500"), (method, "connection dropped")} <= failed

        # Every message shows the newest content the bot sent it; every post it tried landed once.
        newest = last_updates(ws)
        assert newest, "nothing was updated"
        stale = [m.ts for m in ws.messages if m.ts in newest and newest[m.ts] != shown(m)]
        assert stale == [], f"messages showing older content than the bot last sent: {stale}"
        posted = [
            (thread, text, json.dumps(json.loads(blocks), sort_keys=True))
            for _, thread, text, blocks in ws.posted
        ]
        assert attempted_posts(ws) == set(posted), "a post the bot tried never landed"
        assert len(posted) == len(set(posted)), "a retried post landed twice"

        # What Slack shows is what the store says: the checklist of the closed run, and the request.
        top, request = root(ws), request_message(ws)
        assert top is not None and request is not None
        run = bot.bot.store.run(1)
        assert run is not None and run.state is RunState.SUCCEEDED
        assert shown(top) == from_store(run)
        assert in_thread(ws, "Final report — run #1") is not None
        before = {m.ts: (shown(m), m.updates) for m in (top, request)}
        assert await bot.bot.runbook.restart.show_again() == [1]  # the bot renders both again from the store
        await bot.bot.notifier.flush()
        for m in (top, request):
            assert shown(m) == before[m.ts][0], "Slack showed something other than the store's state"
            assert m.updates > before[m.ts][1], "the store's rendering was not sent"


async def test_an_update_slack_never_took_before_a_restart_is_shown_from_the_store(sandbox: Sandbox) -> None:
    ws, time = sandbox.slack, FastTime(SPEED)
    ws.strict(time)
    async with strict_bot(sandbox, time) as first:
        await first.driver.slash("UALICE", "inventory")
        await inventory_done(ws)
        await first.bot.notifier.flush()
        ws.fail_every("chat.update", "drop", every=1, times=10**6)  # Slack unreachable for updates
        await first.driver.slash("UALICE", "close")
        await ws.wait_for(lambda w: in_thread(w, "Final report — run #1"), timeout=60)
        await ws.wait_for(lambda w: len(last_updates(w)) > 0 and w.rejections[-1].method == "chat.update")
    top = root(ws)
    assert top is not None
    ws.faults.clear("chat.update")
    async with strict_bot(sandbox, time) as second:
        run = second.bot.store.run(1)
        assert run is not None and run.state is RunState.ABANDONED
        assert shown(top) != from_store(run), "the closing update should not have landed before the restart"
        await ws.wait_for(lambda w: shown(top) == from_store(run), timeout=30)
        await second.bot.notifier.flush()
        assert shown(top) == from_store(run)
