"""The purge request lets a person decide: what it deletes (measured with `mc du` in the MinIO pod),
the command whole, the way back, the approvers mentioned once, and a confirmation behind Approve."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.blocks.backup import size
from sandbox.minio.config import deny_listing
from sandbox.slack import Message, SlackWorkspace
from sandbox.stack import RunningBot, Sandbox, running_bot
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import APPROVE, REJECT, approve, button, ready_for_purge

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


def request_calls(ws: SlackWorkspace, request: Message) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The chat.postMessage that posted the request, and every chat.update of it since."""
    posts = [
        p
        for m, p in ws.calls
        if m == "chat.postMessage" and not p.get("thread_ts") and "Purge request #" in str(p.get("text"))
    ]
    updates = [p for m, p in ws.calls if m == "chat.update" and p.get("ts") == request.ts]
    assert len(posts) == 1, posts
    return posts[0], updates


def command_section(request: Message) -> str:
    return next(
        b["text"]["text"]
        for b in request.blocks
        if "*Runs in the MinIO pod*" in b.get("text", {}).get("text", "")
    )


async def test_the_request_shows_the_bucket_as_measured_the_whole_command_and_asks_the_approvers_once(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    objects, stored = sandbox.s3.object_count(), sandbox.s3.bucket_bytes()
    assert objects > 1
    request = await ready_for_purge(bot, sandbox)
    text = text_of(request)
    assert (
        f"*Deletes* everything in the bucket: {objects:,} objects, {size(stored)} (measured <!date^" in text
    )

    command = command_section(request)
    assert command.startswith("*Runs in the MinIO pod* `kube-system/minio-0`:\n```. ")
    assert str(sandbox.minio_pod.env_file.resolve()) in command and sandbox.s3.url in command
    assert command.endswith("mc --insecure --json rm --recursive --force minio/registry/```"), "target shown"
    assert "To undo: `regclean rollback --plan --run 1`" in text and "(README, Rollback)" in text

    approve_button, reject_button = button(request, APPROVE), button(request, REJECT)
    assert approve_button is not None and reject_button is not None
    confirm = approve_button["confirm"]["text"]["text"]
    assert confirm.startswith(
        f"This empties the registry bucket `registry`: {objects:,} objects, {size(stored)}, as measured when "
        "the request was made."
    )
    assert reject_button["confirm"]["confirm"]["text"] == "Reject"

    await approve(bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    post, updates = request_calls(ws, request)
    asked = "<@UBOB> <@UCAROL>: purge request #1 needs 2 approvals."
    assert asked in str(post["blocks"]) and str(post["text"]).startswith("<@UBOB> <@UCAROL>: ")
    assert updates and all("needs 2 approvals" not in str(u["blocks"]) for u in updates), "mentioned once"
    assert "needs 2 approvals" not in text_of(request)
    assert f"{objects:,} objects" in text_of(request), "the updates keep the measured size"
    assert ws.rejections == []


async def test_an_approvers_group_is_mentioned_by_its_id(sandbox: Sandbox) -> None:
    sandbox.slack.add_usergroup("S0APPROVE", "purge-approvers", ["UBOB", "UCAROL"])
    overrides = {"REGCLEAN_APPROVERS": "@purge-approvers,@nobody-here"}
    async with running_bot(sandbox, "http", overrides) as bot:
        request = await ready_for_purge(bot, sandbox)
        post, _ = request_calls(sandbox.slack, request)
        assert "<!subteam^S0APPROVE> @nobody-here: purge request #1" in str(post["blocks"]), (
            "a known group by its ID; an unknown handle named, notifying nobody"
        )
        await approve(bot, "UBOB", request)
        await sandbox.slack.wait_for(lambda w: "1 of 2 approved" in text_of(request))


async def test_a_bucket_mc_du_cannot_measure_still_gets_its_request_saying_why(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    # A MinIO policy denies these keys `s3:ListBucket`: the versioning reads, `mc du` fails as mc does.
    deny_listing(sandbox.minio_pod.home / ".mc")
    request = await ready_for_purge(bot, sandbox)
    text = text_of(request)
    assert "*Deletes* everything in the bucket; its size could not be measured" in text
    assert (
        "`mc du` of registry in pod minio-0 failed (exit status 1: mc: Failed to find disk usage of "
        "`minio/registry` recursively. Access Denied.)."
    ) in text, "mc's own words, read from its indented JSON error"
    assert "Traceback" not in text and sandbox.minio_secret not in text
    confirm = button(request, APPROVE)
    assert confirm is not None
    assert confirm["confirm"]["text"]["text"].startswith("This empties the registry bucket `registry`. When")
    assert sandbox.slack.rejections == []


async def test_a_versioned_bucket_is_measured_with_every_version(bot: RunningBot, sandbox: Sandbox) -> None:
    sandbox.s3.set_versioning("Enabled")
    client = sandbox.s3.client()
    client.put_object(Bucket="registry", Key="docker/registry/v2/old", Body=b"x" * 1000)
    client.put_object(Bucket="registry", Key="docker/registry/v2/old", Body=b"y" * 10)  # one noncurrent
    client.delete_object(Bucket="registry", Key="docker/registry/v2/old")  # and a delete marker
    client.close()
    stored, entries = sandbox.s3.stored()
    versions = entries - 1  # delete markers never count
    request = await ready_for_purge(bot, sandbox)
    text = text_of(request)
    assert f"*Deletes* everything in the bucket: {versions:,} object versions, {size(stored)}" in text
    assert "every version counts" in text
    assert "--versions minio/registry/```" in command_section(request)
