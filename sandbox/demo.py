"""`regclean demo`: the whole runbook, end to end against the sandbox, as a Slack conversation.

The inventory (with a change in between), the backup of every node, the preflight and
its gates, the export of the custom images (gate 5), the two-person approval, the purge scheduled
at a maintenance window's start (on a simulated clock) with the registry's restart, the restore of
the core images and of the plugins, the custom images pushed back from the export, the pull checks
after each, and the final report.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from bot.logs import captured
from sandbox.installer import add_package, operator_spec
from sandbox.kube.fixtures import Fixture, installed_operators, load_fixture
from sandbox.kube.unkind import METRICS_API
from sandbox.slack import Message, SlackWorkspace
from sandbox.stack import Mode, RunningBot, Sandbox, running_bot

APPROVE = "regclean_purge_approve"
PURGE_AT_WINDOW = "regclean_purge_at_window"
EXPORT = "regclean_export"


class DemoWitness(Protocol):
    """Someone looking at the sandbox outside regclean while the demo runs: the demo's test checks
    the registry and its bucket with skopeo and moto before the bot starts and after the run closed
    (tests/scenarios/test_demo.py). `make demo` has none."""

    async def before(self, box: Sandbox) -> None:
        """Called once the sandbox has started, before the bot starts."""

    async def after(self, box: Sandbox) -> None:
        """Called once the runbook has closed and the bot has stopped, before the sandbox stops."""


def _finished(ws: SlackWorkspace, count: int) -> bool:
    """Whether `count` inventories have been posted in full (their CSV files are the last part)."""
    return len(ws.files) >= 2 * count


async def run_demo(
    mode: Mode = "http",
    out: TextIO | None = None,
    logs: TextIO | None = None,
    *,
    witness: DemoWitness | None = None,
) -> int:
    """Drive the bot through the sandbox and print the conversation; 0 when it went as it should.
    With `logs`, the bot's log lines (INFO and above) are written there too, as JSON lines. With a
    `witness`, its `before` runs on the started sandbox before the bot starts and its `after` once the
    run has closed, before the sandbox stops: a test checks the registry there, outside regclean;
    whatever they raise ends the demo with it."""
    out = out or sys.stdout
    keep = captured(logs, "json") if logs is not None else contextlib.nullcontext()
    with keep, tempfile.TemporaryDirectory(prefix="regclean-demo-") as tmp:
        box = Sandbox(Path(tmp), load_fixture(), full_registry=True, live_minio=True)
        box.kube.unavailable_api(METRICS_API)  # as on many real clusters: metrics-server is down
        await box.start()
        try:
            if witness is not None:
                await witness.before(box)
            async with running_bot(box, mode) as bot:
                await _record_and_back_up(bot, box)
                await _preflight_until_the_gates_hold(bot, box)
                purged = await _approve_and_purge(bot, box)
                await _restore(bot, box)
                await bot.driver.slash("UBOB", "status")
                await bot.driver.slash("UALICE", "purgee")  # a typo
                await bot.bot.notifier.flush()
            if witness is not None:
                await witness.after(box)
        finally:
            await box.stop()
        print(f"regclean demo ({mode} mode) — the conversation in #{_channel(box.slack)}:\n", file=out)
        print(box.slack.transcript(), file=out)
        last = box.slack.files[-2]
        head = "\n".join(last.content.decode().splitlines()[:6])
        print(f"\nThe first lines of {last.name}:\n{head}\n…", file=out)
        print(f"\nThe registry bucket: {purged}", file=out)
        if box.slack.rejections:
            print(f"\nSlack rejected {len(box.slack.rejections)} call(s): {box.slack.rejections}", file=out)
            return 1
    return 0


async def _record_and_back_up(bot: RunningBot, box: Sandbox) -> None:
    say = bot.driver.slash
    await say("UMALLORY", "inventory")  # not an operator: refused
    await say("UALICE", "help")
    await say("UALICE", "inventory")
    await box.slack.wait_for(lambda ws: _finished(ws, 1), timeout=30)
    # Meanwhile on the platform: an operator is upgraded (its package arrives) and one is uninstalled.
    _upgrade(box)
    await say("UOSCAR", "inventory")  # an operator through the @platform-ops group
    await box.slack.wait_for(lambda ws: _finished(ws, 2), timeout=30)
    await say("UBOB", "backup")  # an approver, not an operator: refused
    await say("UALICE", "backup")
    await box.slack.wait_for(lambda ws: _count(ws, "nodes have a verified backup") >= 1, timeout=60)


async def _preflight_until_the_gates_hold(bot: RunningBot, box: Sandbox) -> None:
    say = bot.driver.slash
    await say("UALICE", "purge")  # too early: the reply names the gates that do not hold
    await say("UALICE", "preflight")
    # The registry holds custom images that nothing restores: they are exported before the purge.
    report = await box.slack.wait_for(lambda ws: _newest(ws, "Preflight — run #"), timeout=30)
    export = report.button(EXPORT)
    assert export is not None, "the preflight lists the custom images with a button"
    await bot.driver.click("UALICE", EXPORT, export["value"], message=report)
    await box.slack.wait_for(lambda ws: _count(ws, "custom images exported and verified") >= 1, timeout=60)


async def _approve_and_purge(bot: RunningBot, box: Sandbox) -> str:
    before = box.s3.object_count()
    # The purge is for tonight's maintenance window: on the demo's clock, it starts in 20 minutes.
    clock = bot.clock
    start = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=20)
    await bot.driver.slash(
        "UALICE", f"window {start.astimezone(ZoneInfo('Asia/Shanghai')).isoformat(timespec='minutes')} 2h"
    )
    await bot.driver.slash("UBOB", "purge")  # approvers approve; operators ask
    await bot.driver.slash("UALICE", "purge")
    request = await box.slack.wait_for(lambda ws: _newest(ws, "Purge request #"), timeout=30)
    button = request.button(APPROVE)
    assert button is not None
    await bot.driver.click("UALICE", APPROVE, button["value"], message=request)  # she asked: refused
    await bot.driver.click("UBOB", APPROVE, button["value"], message=request)
    await box.slack.wait_for(lambda ws: "1 of 2 approved" in str(request.blocks), timeout=10)
    await bot.driver.click("UBOB", APPROVE, button["value"], message=request)  # counts once
    await bot.driver.click("UCAROL", APPROVE, button["value"], message=request)
    # Outside the window, the requester can only schedule it at the window's start.
    choice = await box.slack.wait_for(lambda ws: _newest(ws, "choose when it runs"), timeout=30)
    at_start = choice.button(PURGE_AT_WINDOW)
    assert at_start is not None, "the choice offers the window's start"
    await bot.driver.click("UALICE", PURGE_AT_WINDOW, at_start["value"], message=choice)
    await box.slack.wait_for(
        lambda ws: _count(ws, "chose the window's start for the approved purge") >= 1, timeout=10
    )
    await bot.driver.slash("UBOB", "schedule")  # Slack dates: each reader sees their own zone
    # Twenty minutes later (simulated): the window opens and the scheduler runs the purge.
    clock.set(start)
    job = bot.bot.scheduler.get_job(f"purge-at-window-{at_start['value']}")
    assert job is not None
    job.modify(next_run_time=datetime.now(UTC))
    await box.slack.wait_for(lambda ws: _count(ws, "Purge of the registry bucket — run") >= 1, timeout=60)
    await bot.bot.runbook.drain()
    return f"{before} objects before the purge, {box.s3.object_count()} after."


async def _restore(bot: RunningBot, box: Sandbox) -> None:
    say = bot.driver.slash
    await say("UALICE", "restore core")  # upload.sh all, then necessary; then a pull check
    await box.slack.wait_for(lambda ws: _count(ws, "Pull check after the core restore") >= 1, timeout=120)
    # violet push of every package; the custom images go back from the run's export (nothing of the
    # platform restores them); then every image is pulled, the custom ones too.
    await say("UALICE", "restore plugins")
    await box.slack.wait_for(lambda ws: _count(ws, "custom images pushed back and pulled") >= 1, timeout=180)
    await box.slack.wait_for(lambda ws: _count(ws, "Pull check of every recorded image") >= 1, timeout=120)
    await bot.bot.runbook.drain()


def _count(ws: SlackWorkspace, needle: str) -> int:
    return sum(needle in m.text or needle in str(m.blocks) for m in ws.messages)


def _newest(ws: SlackWorkspace, needle: str) -> Message | None:
    found = [m for m in ws.messages if needle in str(m.blocks)]
    return found[-1] if found else None


def _upgrade(box: Sandbox) -> None:
    views = installed_operators(Fixture(objects=tuple(box.kube.objects("operatorviews"))))
    upgraded = views[0]
    installation = upgraded["status"]["operatorStatus"]["installation"]
    csv = installation["subscription"]["installedCSV"] + "-hotfix.1"
    installation["subscription"]["installedCSV"] = csv
    box.kube.add(upgraded)
    name, version = csv.split(".", 1)
    channels = upgraded["status"].get("packageManifestStatus", {}).get("channels") or [{}]
    display = (channels[0].get("currentCSVDesc") or {}).get("displayName") or name
    package = operator_spec(installation.get("artifactName") or name, version, display)
    add_package(box.plugin_dir, package)
    # The sandbox's record of what each package pushes, and so `restorable_images`, includes it now.
    box.package_images[package.file] = list(package.images)
    gone = views[-1]
    box.kube.remove("operatorviews", gone["metadata"]["namespace"], gone["metadata"]["name"])


def _channel(ws: SlackWorkspace) -> str:
    return ws.channels.get(ws.channel_id, ws.channel_id)
