"""A maintenance window, a purge approved ahead of it and scheduled at its start (through the real Bolt app).

The bot's clock is set by the test; the persistent scheduler's job is made due by moving its run
time, as the scheduler does when the time comes. Nothing waits for real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.slack.driver import DriverReply
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import approve, button, in_thread, ready_for_purge, step_line

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)

PURGE_NOW = "regclean_purge_now"
PURGE_AT_WINDOW = "regclean_purge_at_window"


def said(reply: DriverReply) -> str:
    """What an acknowledgement said to the person (its text and blocks)."""
    if reply.json is None:
        return reply.body
    body = reply.json
    blocks = " ".join(str(b.get("text", {}).get("text", "")) for b in body.get("blocks", []) or [])
    return f"{body.get('text', '')} {blocks}"


def told(sandbox: Sandbox, user: str, needle: str) -> bool:
    return any(e.user == user and needle in e.text for e in sandbox.slack.ephemerals)


async def test_a_purge_scheduled_at_the_window_start_runs_then_and_not_before(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws, driver = sandbox.slack, http_bot.driver
    clock = http_bot.clock
    start = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=10)

    reply = await driver.slash("UALICE", "window 2026-12-01T02:00 4h")
    assert "no UTC offset" in said(reply) and "+08:00" in said(reply), "alice is in Asia/Shanghai"
    reply = await driver.slash("UALICE", f"window {start.isoformat(timespec='minutes')} 4h")
    # a Slack date, which Slack shows in each reader's zone, and the name of who declared it
    stamp = f"<!date^{int(start.timestamp())}^{{date_short_pretty}} {{time}}|"
    assert f"Declared the maintenance window {stamp}" in said(reply) and "declared by *alice*" in said(reply)

    request = await ready_for_purge(http_bot, sandbox)  # gate 5 is judged when the purge starts
    await approve(http_bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    await approve(http_bot, "UCAROL", request)
    choice = await ws.wait_for(lambda w: in_thread(w, "choose when it runs"), timeout=30)
    assert button(choice, PURGE_NOW) is None, "outside a window there is no 'now'"
    at_start = button(choice, PURGE_AT_WINDOW)
    assert at_start is not None
    request_id = at_start["value"]

    await driver.click("UBOB", PURGE_AT_WINDOW, request_id, message=choice)
    await ws.wait_for(lambda w: told(sandbox, "UBOB", "only operators may start a purge"))
    # oscar is an operator, but not the one who asked
    await driver.click("UOSCAR", PURGE_AT_WINDOW, request_id, message=choice)
    await ws.wait_for(lambda w: told(sandbox, "UOSCAR", "Only the person who asked"))
    await driver.click("UALICE", PURGE_AT_WINDOW, request_id, message=choice)
    await ws.wait_for(lambda w: told(sandbox, "UALICE", "runs when the window starts"))
    listed = await driver.slash("UBOB", "schedule")
    assert f"purge of request #{request_id} at the window's start" in said(listed)
    assert f"{stamp}{start:%Y-%m-%d %H:%M:%S} UTC>: purge of request #{request_id}" in said(listed)
    assert sandbox.s3.object_count() > 0, "nothing is deleted before the window"
    assert not step_line(ws, "⏳", "Purge") and not step_line(ws, "✅", "Purge")

    # The window starts: the scheduler runs the job, which finds itself on time.
    clock.set(start + timedelta(seconds=5))
    job = http_bot.bot.scheduler.get_job(f"purge-at-window-{request_id}")
    assert job is not None and job.next_run_time == start
    job.modify(next_run_time=datetime.now(UTC) - timedelta(seconds=1))
    await ws.wait_for(lambda w: step_line(w, "✅", "Purge"), timeout=60)
    assert sandbox.s3.object_count() == 0
    status = await driver.slash("UBOB", "status")
    assert "Nothing is scheduled" in said(status) and "✅ *Purge" in said(status)
    actions = [e.action for e in http_bot.bot.store.audit_log()]
    assert actions.count("purge.scheduled") == 1 and actions.count("purge.started") == 1
