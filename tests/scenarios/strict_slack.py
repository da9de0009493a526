"""The bot on a Slack as strict as Slack: per-method tiers with Retry-After, 5xx bursts and dropped
connections (sandbox/slack/ratelimit.py), on simulated time so that a minute's limit costs a
fraction of a second; and what a test asserts after a runbook ran on it: no message ended up older
than what the bot last meant to show, no post was lost or landed twice, and what Slack shows is
what the store says, also after a restart. The golden path runs on it in
tests/e2e/test_versioned_bucket.py, the restart's cases in tests/scenarios/test_slack_strict.py."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from bot.app import build, connected
from bot.config.settings import Settings
from bot.core.model import RunState, RunView
from handlers.blocks.run import checklist_blocks, checklist_text
from sandbox.clock import SettableClock
from sandbox.slack import Message, SlackDriver, SlackWorkspace
from sandbox.slack.ratelimit import FastTime
from sandbox.slack.validation import parse_blocks
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import root
from tests.scenarios.flow import in_thread, request_message

SPEED = 20.0
"""Simulated seconds per real one: a minute's window is 3 s, a `Retry-After: 60` 3 s too; faster,
and the real time the cluster work takes would stretch every minute past Slack's limits."""

FAILING = ("chat.update", "chat.postMessage")
"""The methods `failing_strictly` injects Slack's own failures into: the ones a runbook calls most."""


@contextlib.asynccontextmanager
async def strict_bot(sandbox: Sandbox, time: FastTime) -> AsyncIterator[RunningBot]:
    """The bot as `regclean serve` builds it (HTTP mode, as `sandbox.stack.running_bot` does), but
    waiting for Slack on `time`."""
    clock = SettableClock()
    sandbox.slack.now = clock.now  # the transcript's "Today" is the bot's
    # The sandbox's pace of thread posts (0.01 s) is faster than Slack's one a second: it meets the limit.
    settings = Settings.load(sandbox.environment("http"))
    bot = build(settings, clock=clock, slack_time=time)
    bot.flush_seconds = 1.0  # stopping gives up on an update Slack never takes; the next start shows it
    async with connected(bot) as url:
        yield RunningBot(bot, SlackDriver(sandbox.slack, events_url=f"{url}/slack/events"), url, clock)


def failing_strictly(ws: SlackWorkspace, time: FastTime) -> None:
    """Slack's limits on `time`, and from now on bursts of Slack's own failures of each FAILING
    method: more 5xx in a row than a client retries, connections closed unanswered, and 429s of the
    limits Slack does not publish (workspace-wide, special)."""
    ws.strict(time)
    for method in FAILING:
        ws.fail_every(method, 503, every=4, times=4)  # a burst of 5xx, more than a client's retries
        ws.fail_every(method, 500, every=9, times=2)
        ws.fail_every(method, "drop", every=13, times=2)  # connections closed unanswered
        ws.fail_every(method, 429, every=6, times=8)  # limits not published (workspace-wide, special)


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


async def assert_nothing_lost(bot: RunningBot, ws: SlackWorkspace, run_id: int) -> None:
    """After a run that `failing_strictly` made hard and that succeeded and was closed, the bot
    drained and its notifier flushed: Slack's limits and every injected failure were met, every
    message shows the newest content the bot sent it, every post it tried landed once, and the
    run's checklist and purge request show what the store says, also when a "restart" renders them
    again from the store."""
    limited = {r.method for r in ws.rejections if r.error == "ratelimited"}
    failed = {(r.method, r.error) for r in ws.rejections if r.error != "ratelimited"}
    assert set(FAILING) <= limited, "Slack's limits were never reached"
    for method in FAILING:
        injected = {(method, "HTTP 503"), (method, "HTTP 500"), (method, "connection dropped")}
        assert injected <= failed, f"Slack's failures never met: {sorted(injected - failed)}"

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
    run = bot.bot.store.run(run_id)
    assert run is not None and run.state is RunState.SUCCEEDED
    assert shown(top) == from_store(run)
    assert in_thread(ws, f"Final report — run #{run_id}") is not None
    before = {m.ts: (shown(m), m.updates) for m in (top, request)}
    assert await bot.bot.runbook.restart.show_again() == [run_id]  # the bot renders both again from the store
    await bot.bot.notifier.flush()
    for m in (top, request):
        assert shown(m) == before[m.ts][0], "Slack showed something other than the store's state"
        assert m.updates > before[m.ts][1], "the store's rendering was not sent"
