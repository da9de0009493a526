"""Restore after the purge, through the real Bolt app: the refusals before a purge, a core restore that
fails half way and runs again, and custom images that cannot go back (the run's export lost its index),
so that the pull check fails and the run, closed by hand, ends as failed with what is left to do.

A failed plugin package, listed and pushed again alone, is in tests/scenarios/test_cli_story.py (from
the terminal); the golden path, with the final report and the canary passwords, is in
tests/scenarios/test_demo.py.
"""

from __future__ import annotations

import pytest

from sandbox.slack import SlackWorkspace
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import RESTORE_CORE, RESTORE_CUSTOM, VERIFY, purged, step_line

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)

CLOSE = "Close the run"


def posted(ws: SlackWorkspace, needle: str) -> str | None:
    found = [text_of(m) for m in ws.messages if needle in text_of(m)]
    return found[-1] if found else None


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


async def test_upload_failing_half_way_fails_the_core_restore_and_lost_custom_images_fail_the_run(
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
    # Slack showed the last lines; the whole output is kept, masked, in the step's file.
    kept = (sandbox.workdir / "logs" / f"run-{run.id}" / f"restore_core-{failed.id}.log").read_text()
    last = kept.splitlines()[-1]
    assert last.startswith("[upload.sh all] regclean: ") and "exited with status 1" in last, last
    assert kept.count("[upload.sh all] ") > 2 and sandbox.platform_password not in kept
    sandbox.fail_upload_after(None)
    await http_bot.driver.slash("UALICE", "restore core")
    await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=90)
    await http_bot.bot.runbook.drain()  # the pull check of the core that follows it
    # The run's export lost its index: the custom images cannot go back (the step needs only the core
    # restored), and the pull check of everything that follows the push fails.
    (sandbox.workdir / "exports" / f"run-{run.id}" / "index.json").unlink()
    await http_bot.driver.slash("UALICE", "restore custom")
    await ws.wait_for(lambda w: step_line(w, "❌", RESTORE_CUSTOM), timeout=60)
    await http_bot.bot.runbook.drain()  # the pull check that follows it
    await ws.wait_for(lambda w: step_line(w, "❌", VERIFY), timeout=10)
    assert (await http_bot.bot.runbook.status()) is not None, "a failed pull check leaves the run open"
    # Closing it by hand ends it as failed, and the report says what is left.
    await http_bot.driver.slash("UALICE", "close")
    report = await ws.wait_for(lambda w: posted(w, "Final report — run #"), timeout=60)
    assert "failed*" in report and "the pull check of every recorded image has not passed" in report
    assert "2 exported custom images do not pull: retail/" in report
    assert "`/regclean restore custom --retry-failed`" in report
    assert "images do not pull: " in report and "retail/order-service:1.4.2" in report
    [pulls] = [
        line for line in report.splitlines() if "images do not pull: " in line and "/regclean verify" in line
    ]
    assert "retail/order-service:1.4.2" in pulls, "the pull check names it too"
    await ws.wait_for(lambda w: "(failed)" in (posted(w, "Registry cleanup run #") or ""), timeout=10)
    assert (await http_bot.bot.runbook.status()) is None
