"""The runbook on a versioned bucket, against a registry as ACP runs it, from a Slack as strict as
Slack: the purge frees every byte the S3 server keeps; every blob regclean downloads comes from the
storage by a pre-signed URL, over HTTPS with the platform's CA; under deploy/'s RBAC, every grant of
which the runbook needs; and under Slack's limits and its own failures, nothing the bot shows or
posts is lost.

On a versioned bucket `mc rm --recursive --force` only writes delete markers; `mc ls` and `mc du`
then hide the objects while every byte stays stored. Here the bucket is versioned before the
registry is seeded, holds noncurrent versions and a delete marker, and the whole runbook runs from
Slack. The S3 server itself, not regclean, says what was stored and what was freed.

The registry serves HTTPS with the platform's own CA (which regclean gets as
REGCLEAN_REGISTRY_CA_FILE) and redirects blob downloads (307) to pre-signed URLs of the storage.
What reached the storage is read from a recording tap in front of it: the pre-signed GETs came,
and none carried the registry's credentials.

Slack holds the bot to its per-method tiers with Retry-After, on simulated time, and answers bursts
of 5xx, unpublished 429s and dropped connections (tests/scenarios/strict_slack.py). Every message
must end up showing the newest content the bot sent it, every post the bot tried must land exactly
once, and the run's checklist and purge request must show what the store says, also when the bot
renders them again from the store as after a restart.

These variants share one sandbox and one runbook (the golden path of `regclean demo`,
tests/scenarios/test_demo.py, covers the runbook's details on plain HTTP, a lenient Slack and an
unversioned bucket).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.steps.close.records import CloseRecords
from sandbox.kube.fixtures import lean_sample
from sandbox.platform import custom_images
from sandbox.registry import S3Server, skopeo
from sandbox.registry.proxy import Proxy
from sandbox.slack.ratelimit import FastTime
from sandbox.stack import Sandbox
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import (
    RESTORE_CORE,
    RESTORE_CUSTOM,
    RESTORE_PLUGINS,
    VERIFY,
    approved_and_purged,
    in_thread,
    ready_for_purge,
    step_line,
)
from tests.scenarios.registry_checks import posted, pushed_digest
from tests.scenarios.strict_slack import SPEED, assert_nothing_lost, failing_strictly, strict_bot

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]


@pytest.fixture
async def storage(s3: S3Server) -> AsyncIterator[Proxy]:
    """The recording tap in front of the S3 server: the registry's `regionendpoint`."""
    tap = Proxy(s3.url)
    await tap.start()
    yield tap
    await tap.stop()


@pytest.fixture
async def versioned(tmp_path: Path, s3: S3Server, storage: Proxy) -> AsyncIterator[Sandbox]:
    """The sample platform on a bucket that was versioned before anything was written to it, its
    registry on HTTPS and redirecting blob downloads to the storage through the tap."""
    s3.create_bucket("registry")
    s3.set_versioning("Enabled")
    options = {"tls": True, "redirect": True, "storage_endpoint": storage.url}
    box = Sandbox(tmp_path / "sandbox", lean_sample(), s3=s3, registry_options=options)
    await box.start()
    # A registry's life leaves versions behind: an object written twice, and one deleted.
    client = s3.client()
    try:
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="registry", MaxKeys=2)["Contents"]]
        body = client.get_object(Bucket="registry", Key=keys[0])["Body"].read()
        client.put_object(Bucket="registry", Key=keys[0], Body=body)
        client.put_object(
            Bucket="registry", Key="docker/registry/v2/repositories/gone/_layers/x", Body=b"x" * 99
        )
        client.delete_object(Bucket="registry", Key="docker/registry/v2/repositories/gone/_layers/x")
    finally:
        client.close()
    yield box
    await box.stop()


def delete_markers(box: Sandbox) -> int:
    """The delete markers in the bucket `registry`, read from the S3 server itself."""
    client = box.s3.client()
    try:
        pages = client.get_paginator("list_object_versions").paginate(Bucket="registry")
        return sum(len(page.get("DeleteMarkers", [])) for page in pages)
    finally:
        client.close()


def presigned_gets(storage: Proxy) -> list[str]:
    """The Authorization header (or "") of every GET of a pre-signed URL the storage received."""
    return [
        s.headers.get("Authorization", "")
        for s in storage.seen
        if s.method == "GET" and "X-Amz-Signature=" in s.query
    ]


# A whole runbook on real servers, slowed by Slack's limits: 50–90 s here, more beside the other worker.
@pytest.mark.timeout(300)
async def test_a_versioned_bucket_is_purged_of_every_version_and_the_report_says_what_s3_freed(
    versioned: Sandbox, storage: Proxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    box = versioned
    ws = box.slack
    env = box.environment("http")
    assert box.registry.url.startswith("https://")
    assert env["REGCLEAN_REGISTRY_CA_FILE"] == str(box.registry.ca_file)
    assert "REGCLEAN_REGISTRY_PLAIN_HTTP" not in env and "REGCLEAN_REGISTRY_INSECURE" not in env
    stored_before = await asyncio.to_thread(box.s3.stored)
    markers = await asyncio.to_thread(delete_markers, box)
    assert markers >= 1, "the fixture deleted an object under versioning"
    current_bytes = await asyncio.to_thread(box.s3.bucket_bytes)
    assert stored_before[0] > current_bytes, "noncurrent versions hold bytes that `mc du` does not show"

    time = FastTime(SPEED)
    failing_strictly(ws, time)
    async with strict_bot(box, time) as bot:
        request = await ready_for_purge(bot, box)
        assert "versioning is enabled, so every version and delete marker is removed" in text_of(request)
        await approved_and_purged(bot, box, request)
        assert await asyncio.to_thread(box.s3.stored) == (0, 0), "not a version nor a delete marker is left"
        run = await bot.bot.runbook.status()
        assert run is not None
        latest = bot.bot.runbook.purge.latest(run.id)
        assert latest is not None
        purge = latest[0]
        # `mc du --versions` counts every version but no delete marker (minio/mc cmd/du-main.go);
        # the purge removes both.
        assert purge.versioned and (purge.bytes_before, purge.objects_before) == (
            stored_before[0],
            stored_before[1] - markers,
        )
        assert purge.removed == stored_before[1]

        # The restores and their pull checks, over HTTPS, the blobs from the storage.
        assert await asyncio.to_thread(box.s3.object_count) == 0
        await bot.driver.slash("UALICE", "restore core")
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=60)
        core = await ws.wait_for(lambda w: in_thread(w, "Pull check after the core restore"), timeout=30)
        assert ":white_check_mark: All" in text_of(core)
        downloads = len(presigned_gets(storage))
        assert downloads > 0, "the core's pull check downloaded its blobs from the storage"
        await bot.driver.slash("UALICE", "restore plugins")
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_PLUGINS), timeout=90)
        # The team's own images come back from the run's export (nothing of the platform restores them).
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CUSTOM), timeout=60)
        await ws.wait_for(lambda w: step_line(w, "✅", VERIFY), timeout=60)
        custom = custom_images(box)
        await ws.wait_for(lambda w: in_thread(w, "Final report — run #"), timeout=60)
        await ws.wait_for(lambda w: "(succeeded)" in (posted(w, "Registry cleanup run #") or ""), timeout=60)
        await bot.bot.runbook.drain()  # the close step ends after its report: its last show() too
        await bot.bot.notifier.flush()
        report = CloseRecords(bot.bot.store.db).report(run.id)
        # Slack's limits and failures were met, and nothing the bot showed or posted was lost.
        await assert_nothing_lost(bot, ws, run.id)

    # The whole runbook ran under deploy/'s RBAC (they suffice), and needed every grant (they are minimal).
    assert box.kube.policy is not None
    unused = box.kube.policy.unused()
    assert not unused, f"deploy/ grants what the runbook never needs: {sorted(unused)}"
    stored_after = await asyncio.to_thread(box.s3.stored)
    assert report is not None
    bucket = report.bucket
    assert (bucket.bytes_before, bucket.bytes_after) == (stored_before[0], stored_after[0])
    assert bucket.reclaimed == stored_before[0] - stored_after[0], "what the S3 server really freed"

    # Every blob regclean downloaded came from the storage by a pre-signed URL, without credentials.
    sent = presigned_gets(storage)
    assert len(sent) > downloads and set(sent) == {""}
    for seen in storage.seen:
        assert not seen.headers.get("Authorization", "").startswith(("Basic", "Bearer"))
        assert box.registry.password not in str(dict(seen.headers)) + seen.query
    assert "REGCLEAN_REGISTRY_INSECURE is deprecated" not in caplog.text
    assert "certificate" not in "\n".join(text_of(m) for m in ws.messages)
    # skopeo, trusting the platform CA (not skipping verification), downloads them as they were.
    creds = f"{box.registry.username}:{box.registry.password}"
    (tmp_path / "pulled").mkdir()
    for reference in custom[:1] + sorted(box.restorable_images)[:2]:
        into = tmp_path / "pulled" / reference.replace("/", "_").replace(":", "_")
        await skopeo(
            "copy", *box.registry.skopeo_tls("src"), "--src-creds", creds,
            f"docker://{box.registry.address}/{reference}", f"dir:{into}",
        )  # fmt: skip
        digest = "sha256:" + hashlib.sha256((into / "manifest.json").read_bytes()).hexdigest()
        assert digest == pushed_digest(reference)
