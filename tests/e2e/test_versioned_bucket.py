"""The runbook on a versioned bucket: the purge frees every byte the S3 server keeps; and under
deploy/'s RBAC, every grant of which the runbook needs.

On a versioned bucket `mc rm --recursive --force` only writes delete markers; `mc ls` and `mc du`
then hide the objects while every byte stays stored. Here the bucket is versioned before the
registry is seeded, holds noncurrent versions and a delete marker, and the whole runbook runs from
Slack. The S3 server itself, not regclean, says what was stored and what was freed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.steps.close.records import CloseRecords
from sandbox.kube.fixtures import load_fixture
from sandbox.registry import S3Server
from sandbox.stack import Sandbox, running_bot
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import approved_and_purged, ready_for_purge, restored_and_closed

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]


@pytest.fixture
async def versioned(tmp_path: Path, s3: S3Server) -> AsyncIterator[Sandbox]:
    """The sample platform on a bucket that was versioned before anything was written to it."""
    s3.create_bucket("registry")
    s3.set_versioning("Enabled")
    box = Sandbox(tmp_path / "sandbox", load_fixture(), s3=s3)
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


@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_a_versioned_bucket_is_purged_of_every_version_and_the_report_says_what_s3_freed(
    versioned: Sandbox,
) -> None:
    box = versioned
    stored_before = await asyncio.to_thread(box.s3.stored)
    markers = await asyncio.to_thread(delete_markers, box)
    assert markers >= 1, "the fixture deleted an object under versioning"
    current_bytes = await asyncio.to_thread(box.s3.bucket_bytes)
    assert stored_before[0] > current_bytes, "noncurrent versions hold bytes that `mc du` does not show"

    async with running_bot(box, "http") as bot:
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

        await restored_and_closed(bot, box)
        await bot.bot.runbook.drain()
        report = CloseRecords(bot.bot.store.db).report(run.id)

    # The whole runbook ran under deploy/'s RBAC (they suffice), and needed every grant (they are minimal).
    assert box.kube.policy is not None
    unused = box.kube.policy.unused()
    assert not unused, f"deploy/ grants what the runbook never needs: {sorted(unused)}"
    stored_after = await asyncio.to_thread(box.s3.stored)
    assert report is not None
    bucket = report.bucket
    assert (bucket.bytes_before, bucket.bytes_after) == (stored_before[0], stored_after[0])
    assert bucket.reclaimed == stored_before[0] - stored_after[0], "what the S3 server really freed"
