"""Restore core and plugins after the purge, and prove every image pulls (through the real Bolt app)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from actions.registry import RegistryClient, RegistryTarget
from sandbox.platform import push_custom_images
from sandbox.slack import SlackWorkspace
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import RESTORE_CORE, RESTORE_PLUGINS, VERIFY, purged, step_line

CLOSE = "Close the run"


def posted(ws: SlackWorkspace, needle: str) -> str | None:
    found = [text_of(m) for m in ws.messages if needle in text_of(m)]
    return found[-1] if found else None


async def catalog(sandbox: Sandbox) -> dict[str, tuple[str, ...]]:
    target = RegistryTarget(
        sandbox.registry.address, sandbox.registry.username, sandbox.registry.password, True
    )
    async with RegistryClient(target) as client:
        return (await client.record()).repositories


async def test_restore_core_then_plugins_and_every_image_pulls(
    http_bot: RunningBot, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = sandbox.slack
    await purged(http_bot, sandbox)
    await http_bot.driver.slash("UALICE", "restore core")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=90)
    core = await ws.wait_for(lambda w: posted(w, "Pull check after the core restore"), timeout=60)
    assert ":white_check_mark: All" in core
    await http_bot.driver.slash("UALICE", "restore plugins")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_PLUGINS), timeout=120)
    # The custom images the preflight listed are not restored by anything: verify names them.
    everything = await ws.wait_for(lambda w: posted(w, "Pull check of every recorded image"), timeout=60)
    assert "2* do not" in everything and "retail/order-service:1.4.2: no manifest" in everything
    # The team re-pushes them from its own export, as the runbook says; then everything pulls.
    await push_custom_images(sandbox)
    await http_bot.driver.slash("UALICE", "verify")
    await ws.wait_for(lambda w: step_line(w, "✅", VERIFY), timeout=60)
    assert ":white_check_mark: All" in (posted(ws, "Pull check of every recorded image") or "")

    # Every image pulls after the plugin restore: the run closes itself with the final report.
    report = await ws.wait_for(lambda w: posted(w, "Final report — run #"), timeout=60)
    await ws.wait_for(lambda w: "(succeeded)" in (posted(w, "Registry cleanup run #") or ""), timeout=10)
    assert step_line(ws, "✅", CLOSE)
    assert "succeeded*" in report and "Every image that workloads use is back" in report
    assert "old tags gone" in report and "`acp/archon:v4.1.0`" in report
    assert "approved by* <@UBOB>, <@UCAROL>" in report and "requested by* <@UALICE>" in report
    assert "Every operator is still Installed with the same CSV" in report
    assert "*Bucket* `registry`:" in report and "Keep the backups" in report
    thanked = report.split("Thank you, ", 1)[1]
    assert all(f"<@{u}>" in thanked for u in ("UALICE", "UBOB", "UCAROL")), "everyone who took part"

    repositories = await catalog(sandbox)
    assert "v4.1.0" not in repositories.get("acp/archon", ()), "the old tag is gone"
    assert "v4.2.5" in repositories["acp/archon"] and "latest" in repositories["acp/core"]

    said = "\n".join(text_of(m) for m in ws.messages) + "\n".join(e.text for e in ws.ephemerals)
    stored = b"".join(p.read_bytes() for p in Path(sandbox.workdir).glob("regclean.db*"))
    for secret in (sandbox.platform_password, sandbox.registry.password):
        assert secret not in said and secret not in caplog.text and secret.encode() not in stored


async def test_restore_is_refused_before_a_purge(http_bot: RunningBot, sandbox: Sandbox) -> None:
    await http_bot.driver.slash("UALICE", "inventory")
    await sandbox.slack.wait_for(lambda w: step_line(w, "✅", "Record operators"), timeout=30)
    await http_bot.driver.slash("UALICE", "restore core")
    await sandbox.slack.wait_for(
        lambda w: any(e.user == "UALICE" and "Restoring needs a purge" in e.text for e in w.ephemerals)
    )
    await http_bot.driver.slash("UALICE", "restore core --override")  # an operator, not an approver
    await sandbox.slack.wait_for(
        lambda w: any(e.user == "UALICE" and "Only an approver may override" in e.text for e in w.ephemerals)
    )
    await http_bot.driver.slash("UALICE", "restore plugins")
    await sandbox.slack.wait_for(
        lambda w: any(e.user == "UALICE" and "Restore the core images first" in e.text for e in w.ephemerals)
    )
    await http_bot.driver.slash("UALICE", "restore everything")
    assert any("`restore` takes" in e.text for e in sandbox.slack.ephemerals)


async def test_upload_failing_half_way_fails_the_step_and_it_runs_again(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await purged(http_bot, sandbox)
    sandbox.fail_upload_after(2)
    await http_bot.driver.slash("UALICE", "restore core")
    await ws.wait_for(lambda w: step_line(w, "❌", RESTORE_CORE), timeout=90)
    # The registry is empty now: the run cannot be closed and forgotten.
    await http_bot.driver.slash("UALICE", "close")
    await ws.wait_for(
        lambda w: any(e.user == "UALICE" and "core images are not restored" in e.text for e in w.ephemerals)
    )
    run = await http_bot.bot.runbook.status()
    assert run is not None
    [failed] = [s for s in run.steps if s.name == "restore_core"]
    assert "upload.sh all exited with status 1" in (failed.error or "")
    assert sandbox.platform_password not in (failed.error or "")
    assert posted(ws, "<@UALICE>, this needs you:"), "a failure mentions whoever asked, in the thread"
    sandbox.fail_upload_after(None)
    await http_bot.driver.slash("UALICE", "restore core")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=90)


async def test_a_failed_package_is_listed_and_retried_alone(http_bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    await purged(http_bot, sandbox)
    await http_bot.driver.slash("UALICE", "restore core")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=90)
    broken = sorted(sandbox.package_images)[0]
    sandbox.fail_package(broken, "once")
    await http_bot.driver.slash("UALICE", "restore plugins")
    await ws.wait_for(lambda w: step_line(w, "❌", RESTORE_PLUGINS), timeout=120)
    report = await ws.wait_for(lambda w: posted(w, "Plugin restore — run"), timeout=10)
    assert broken in report and "--retry-failed" in report
    node = sandbox.nodes.nodes["127.0.0.11"]
    before = len(node.commands)
    await http_bot.driver.slash("UALICE", "restore plugins --retry-failed")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_PLUGINS), timeout=120)
    pushed = [c for c in node.commands[before:] if "violet" in str(c)]
    assert len(pushed) <= 2, f"only the failed package is pushed again: {pushed}"
    # The custom images are not back, so the pull check fails and the run stays open; closing it
    # by hand ends it as failed, and the report says what is left.
    await ws.wait_for(lambda w: step_line(w, "❌", VERIFY), timeout=60)
    assert (await http_bot.bot.runbook.status()) is not None
    await http_bot.driver.slash("UALICE", "close")
    report = await ws.wait_for(lambda w: posted(w, "Final report — run #"), timeout=60)
    assert "failed*" in report and "the pull check of every recorded image has not passed" in report
    assert "Push the custom images from your export again: retail/" in report
    assert "images do not pull: " in report and "retail/order-service:1.4.2" in report
    await ws.wait_for(lambda w: "(failed)" in (posted(w, "Registry cleanup run #") or ""), timeout=10)
    assert (await http_bot.bot.runbook.status()) is None
