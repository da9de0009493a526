"""Secrets stay out of everything the bot writes; Slack's rate limits lose nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sandbox.kube.fixtures import generate_fixture
from sandbox.registry import S3Server
from sandbox.slack import SlackWorkspace
from sandbox.stack import Sandbox, running_bot
from tests.scenarios.conftest import installed_names, inventory_done, record_large_inventory, text_of

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)

CANARY_BOT_TOKEN = "xoxb-canary-bot-7Q3ZK"
CANARY_APP_TOKEN = "xapp-canary-app-4M1XP"
CANARY_SIGNING = "canary-signing-secret-8J2WD"


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_tokens_and_the_signing_secret_never_leave_the_bot(
    tmp_path: Path, s3: S3Server, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = SlackWorkspace(bot_token=CANARY_BOT_TOKEN, app_token=CANARY_APP_TOKEN, signing_secret=CANARY_SIGNING)
    box = Sandbox(tmp_path / "box", slack=ws, s3=s3)
    await box.start()
    try:
        async with running_bot(box, mode) as bot:  # type: ignore[arg-type]
            await bot.driver.slash("UALICE", "inventory")
            await inventory_done(ws)
            await ws.wait_for(lambda w: len(w.files) >= 2)
            box.kube.fail("/apis", 403, message="forbidden")
            await bot.driver.slash("UALICE", "inventory")
            await ws.wait_for(lambda w: any("failed" in text_of(m) for m in w.messages))
            await bot.driver.slash("UMALLORY", "inventory")
            await bot.driver.slash("UALICE", "no-such-thing")
    finally:
        await box.stop()
    said = json.dumps(
        [[m.text, m.blocks] for m in ws.messages] + [[e.text, e.blocks] for e in ws.ephemerals],
        ensure_ascii=False,
    )
    said += "".join(f.content.decode() for f in ws.files)
    # the database and its write-ahead log, where the newest writes may still be
    stored = b"".join(p.read_bytes() for p in (tmp_path / "box").glob("regclean.db*"))
    for canary in (CANARY_BOT_TOKEN, CANARY_APP_TOKEN, CANARY_SIGNING):
        assert canary not in said
        assert canary not in caplog.text
        assert canary.encode() not in stored
    assert "Inventory recorded" in said, "the scenario really ran"


async def test_rate_limited_posts_are_retried_and_none_is_lost(tmp_path: Path, s3: S3Server) -> None:
    box, root = await record_large_inventory(
        tmp_path / "box",
        generate_fixture(operators=600, clusters=10, plugins=50),
        s3,
        prepare=lambda b: b.slack.rate_limit("chat.postMessage", 3),
    )
    assert any(r.error == "ratelimited" for r in box.slack.rejections), "the limit was really hit"
    assert {r.error for r in box.slack.rejections} == {"ratelimited"}
    tables = "\n".join(text_of(m) for m in box.slack.thread(root.ts))
    assert [name for name in installed_names(box) if name not in tables] == []


async def test_slacks_own_failures_and_dropped_connections_are_retried_and_none_is_lost(
    tmp_path: Path, s3: S3Server
) -> None:
    def flaky(box: Sandbox) -> None:
        box.slack.fail_next("chat.postMessage", 503, "drop", 500)
        box.slack.fail_next("chat.update", "drop", 503)
        box.slack.fail_next("files.getUploadURLExternal", 500)

    box, root = await record_large_inventory(
        tmp_path / "box", generate_fixture(operators=60, clusters=3, plugins=10), s3, prepare=flaky
    )
    failures = sorted(r.error for r in box.slack.rejections)
    assert failures == sorted(["HTTP 503", "connection dropped", "HTTP 500"] * 2), "every failure was met"
    tables = "\n".join(text_of(m) for m in box.slack.thread(root.ts))
    assert [name for name in installed_names(box) if name not in tables] == []
