"""`/regclean rehearse` through the real Bolt app: it tells what the night would delete and lose, how
long it would take and from what, NO-GO with each reason, and changes nothing anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.registry import RegistryClient
from bot.config.targets import registry_target
from sandbox.kube.access import PATH as REVIEWS
from sandbox.slack import Message, SlackWorkspace
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import text_of

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)

CUSTOM = ("retail/order-service:1.4.2", "retail/report-builder:2.0.0-rc1")


def archives(box: Sandbox) -> set[Path]:
    return {p for node in box.nodes.nodes.values() for p in node.backup_dir.rglob("*")}


async def catalog(bot: RunningBot) -> dict[str, tuple[str, ...]]:
    async with RegistryClient(registry_target(bot.bot.settings)) as client:
        return dict((await client.record()).repositories)


def rehearsal(ws: SlackWorkspace) -> Message | None:
    return next((m for m in ws.messages if "regclean rehearse:" in m.text), None)


@pytest.mark.timeout(120)
async def test_rehearse_tells_the_night_says_no_go_and_changes_nothing(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws, box = sandbox.slack, sandbox
    objects, size = box.s3.object_count(), box.s3.bucket_bytes()
    before_catalog, before_archives = await catalog(http_bot), archives(box)
    assert size > 0 and before_catalog
    box.kube.requests.clear()

    reply = await http_bot.driver.slash("UALICE", "rehearse")
    assert reply.status == 200
    message = await ws.wait_for(rehearsal, timeout=90)
    text = text_of(message)

    # what the purge would delete: every object and byte of the bucket, as S3 counts them
    assert f"{objects:,} objects, {size:,} bytes" in text
    # the custom tags, each with the workload that uses it
    for tag in CUSTOM:
        assert f"`{tag}` used by " in text
    assert "no workload" not in text.split("would not come back", 1)[1].split("Expected durations", 1)[0]
    # no run was ever closed: the configured estimates, said so
    assert "from the configured estimates (REGCLEAN_STEP_EXPECTED): no run has been closed yet" in text
    # the sandbox's platform URL answers nothing: the doctor's platform check fails, so NO-GO names it
    assert message.text.startswith("regclean rehearse: NO-GO")
    assert "*platform " in text and "→ " in text
    # inventory and backup need the night's run: said, not counted against GO
    assert "Needed on the night" in text and "Run `/regclean inventory`." in text

    # nothing changed: only reads and access reviews, the same bucket and catalog, no archive, no run
    writes = [(m, p) for m, p in box.kube.requests if m != "GET" and not (m == "POST" and p == REVIEWS)]
    assert writes == []
    assert box.s3.object_count() == objects and box.s3.bucket_bytes() == size
    assert await catalog(http_bot) == before_catalog
    assert archives(box) == before_archives
    assert await http_bot.bot.runbook.status() is None
    assert [m for m in ws.messages if m is not message] == []
