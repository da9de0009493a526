"""Preflight, the two-person approval and the purge, through the real Bolt app on the sandbox."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from sandbox.slack import SlackWorkspace
from sandbox.stack import SECRET_CANARY, RunningBot, Sandbox, running_bot
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import (
    APPROVE,
    REJECT,
    approve,
    button,
    preflight,
    ready_for_purge,
    recorded_and_backed_up,
    request_message,
    step_line,
)
from tests.scenarios.metrics_scrape import scrape, value

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


def registry_pods(sandbox: Sandbox) -> dict[str, bool]:
    """name → Ready, for the registry pods (the garbage-collect job's pod excluded)."""
    pods = sandbox.kube.objects("pods", "kube-system")
    return {
        p["metadata"]["name"]: any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in p["status"].get("conditions", [])
        )
        for p in pods
        if p["metadata"].get("labels", {}).get("component") == "registry"
    }


def ephemeral_to(ws: SlackWorkspace, user: str, needle: str) -> bool:
    return any(e.user == user and needle in e.text for e in ws.ephemerals)


async def test_two_approvals_purge_the_bucket_and_restart_the_registry(
    bot: RunningBot, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = sandbox.slack
    objects_before = sandbox.s3.object_count()
    pods_before = registry_pods(sandbox)
    assert objects_before > 0 and len(pods_before) == 3
    request = await ready_for_purge(bot, sandbox)
    text = text_of(request)
    assert "0 of 2 approved" in text and "minio-0" in text and "registry" in text
    assert button(request, APPROVE) and button(request, REJECT)

    await approve(bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    assert "1 of 2 approved: *bob*" in text_of(request), "named as Slack sent his name, not notified"
    await approve(bot, "UCAROL", request)
    await ws.wait_for(lambda w: step_line(w, "✅", "Purge"), timeout=60)

    assert sandbox.s3.object_count() == 0
    pods_after = registry_pods(sandbox)
    assert len(pods_after) == 3 and all(pods_after.values())
    assert not set(pods_after) & set(pods_before), "every registry pod was replaced"
    result = await ws.wait_for(
        lambda w: next((m for m in w.messages if "objects removed" in text_of(m)), None)
    )
    assert f"{objects_before:,}" in text_of(result)
    assert button(request, APPROVE) is None, "a closed request has no buttons"

    run = await bot.bot.runbook.status()
    assert run is not None
    assert [s.state for s in run.steps if s.name == "purge"] == ["succeeded"]
    actions = [e.action for e in bot.bot.store.audit_log(run.id)]
    assert actions.count("purge.approved") == 2 and actions.count("purge.started") == 1
    assert actions.count("purge.request.claimed") == 1
    assert "export.succeeded" in actions, "the custom images were exported before the purge"
    stored = bot.bot.runbook.purge.latest(run.id)
    assert stored is not None and stored[0].empty and stored[0].objects_before == objects_before
    assert bot.bot.health_url is not None
    samples = await scrape(bot.bot.health_url)  # the purge's counters, as Prometheus reads them
    assert value(samples, "regclean_purges_total", outcome="succeeded") == 1.0
    assert value(samples, "regclean_purge_objects_removed_total") == objects_before
    assert value(samples, "regclean_steps_total", step="purge", outcome="succeeded") == 1.0

    # The MinIO secret lived only in the pod: nothing the bot wrote shows it.
    everything = "\n".join(text_of(m) for m in ws.messages) + "\n".join(e.text for e in ws.ephemerals)
    # Nor does the registry's password, which the preflight used to read the catalog.
    # (the database file and its write-ahead log: recent writes may be only in the latter)
    database = b"".join(p.read_bytes() for p in Path(sandbox.workdir).glob("regclean.db*"))
    for secret in (SECRET_CANARY, sandbox.registry.password):
        assert secret not in everything
        assert secret not in caplog.text
        assert secret.encode() not in database


async def test_the_purge_is_refused_until_every_gate_holds_and_the_reply_names_the_gates(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await http_bot.driver.slash("UALICE", "purge")
    await ws.wait_for(lambda w: ephemeral_to(w, "UALICE", "No run is active"))

    await recorded_and_backed_up(http_bot, ws)
    await http_bot.driver.slash("UALICE", "purge")
    refused = await ws.wait_for(
        lambda w: next(
            (e for e in w.ephemerals if e.user == "UALICE" and "gates do not hold" in e.text), None
        )
    )
    assert "A package for every installed operator and plugin" in refused.text
    assert "Registry recorded" in refused.text and "/regclean preflight" in refused.text

    # A package goes missing: the preflight names what it no longer covers.
    (sandbox.plugin_dir / "capi-provider-aws-v4.0.10.tgz").unlink()
    report = await preflight(http_bot, ws)
    assert "❌" in text_of(report) or ":x:" in text_of(report)
    needs = "no package for plugin capi-provider-aws on global: needs capi-provider-aws v4.0.10"
    assert needs in text_of(report)
    assert request_message(ws) is None, "no request was posted"


async def test_who_may_ask_approve_and_reject(sandbox: Sandbox) -> None:
    # Alice, who asks, is an approver too here: the two-person rule still refuses her own approval.
    async with running_bot(sandbox, "http", {"REGCLEAN_APPROVERS": "UBOB,UCAROL,UALICE"}) as http_bot:
        await _who_may(http_bot, sandbox)


async def _who_may(http_bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    await http_bot.driver.slash("UMALLORY", "purge")  # a stranger
    await http_bot.driver.slash("UBOB", "purge")  # an approver, not an operator
    assert ephemeral_to(ws, "UMALLORY", "operators") and ephemeral_to(ws, "UBOB", "operators")
    request = await ready_for_purge(http_bot, sandbox)

    await approve(http_bot, "UALICE", request)  # the requester
    await ws.wait_for(lambda w: ephemeral_to(w, "UALICE", "you cannot approve"))
    await approve(http_bot, "UMALLORY", request)  # a stranger
    await ws.wait_for(lambda w: ephemeral_to(w, "UMALLORY", "Only approvers"))
    await approve(http_bot, "UOSCAR", request)  # an operator through @platform-ops, not an approver
    await ws.wait_for(lambda w: ephemeral_to(w, "UOSCAR", "Only approvers"))
    assert "0 of 2 approved" in text_of(request)

    await http_bot.driver.click("UMALLORY", REJECT, button(request, REJECT)["value"], message=request)  # type: ignore[index]
    await ws.wait_for(lambda w: ephemeral_to(w, "UMALLORY", "Only approvers may reject"))
    await approve(http_bot, "UBOB", request)
    await http_bot.driver.click("UCAROL", REJECT, button(request, REJECT)["value"], message=request)  # type: ignore[index]
    await ws.wait_for(lambda w: "Rejected by" in text_of(request))
    value = request.blocks and button(request, APPROVE)
    assert not value, "a rejected request shows no buttons"
    await http_bot.driver.click("UBOB", APPROVE, "1")  # a stale client still sends the click
    await ws.wait_for(lambda w: ephemeral_to(w, "UBOB", "rejected"))
    assert sandbox.s3.object_count() > 0, "nothing was purged"


async def test_retries_and_a_burst_of_clicks_start_the_purge_once(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    request = await ready_for_purge(http_bot, sandbox)
    value = button(request, APPROVE)["value"]  # type: ignore[index]
    await approve(http_bot, "UBOB", request)
    await approve(http_bot, "UBOB", request, retry_num=1)  # Slack redelivers the same click
    await ws.wait_for(lambda w: ephemeral_to(w, "UBOB", "counts once"))
    # the request's message is updated at most once a second (handlers/approval_messages.py)
    await ws.wait_for(lambda w: not request.text.endswith(": 0 of 2 approved"))
    # the click and its retry count once: still open, with one approval of two, Bob's
    assert request.text.endswith(": 1 of 2 approved: *bob*"), request.text
    clicks = [
        http_bot.driver.click(("UBOB", "UCAROL")[i % 2], APPROVE, value, retry_num=i % 3 or None)
        for i in range(50)
    ]
    await asyncio.gather(*clicks)
    await ws.wait_for(lambda w: step_line(w, "✅", "Purge"), timeout=60)
    await http_bot.bot.runbook.drain()
    run = await http_bot.bot.runbook.status()
    assert run is not None
    assert len([s for s in run.steps if s.name == "purge"]) == 1
    actions = [e.action for e in http_bot.bot.store.audit_log(run.id)]
    assert actions.count("purge.started") == 1 and actions.count("purge.approval.complete") == 1
    assert actions.count("purge.request.claimed") == 1


async def test_an_expired_request_says_so_and_takes_no_approvals(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    request = await ready_for_purge(http_bot, sandbox)
    request_id = int(button(request, APPROVE)["value"])  # type: ignore[index]
    job = http_bot.bot.scheduler.get_job(f"expire-request-{request_id}")
    assert job is not None, "the expiry is a job in the persistent scheduler"
    view = http_bot.bot.runbook.approval.approvals.get(request_id)
    assert abs((job.next_run_time - view.expires_at).total_seconds()) < 1
    http_bot.clock.set(view.expires_at)  # the deadline has come, on the bot's one clock
    job.modify(next_run_time=view.created_at)  # APScheduler fires on the machine's clock: run it now
    await ws.wait_for(lambda w: "Expired" in text_of(request), timeout=10)
    await http_bot.driver.click("UBOB", APPROVE, str(request_id))
    await ws.wait_for(lambda w: ephemeral_to(w, "UBOB", "expired"))
    assert sandbox.s3.object_count() > 0
