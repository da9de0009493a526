"""The golden path, the whole runbook, through the simulated Slack, checked afterwards without regclean.

The registry starts as a platform's does before its cleanup: every image the installer and the
packages hold, the images workloads use (custom ones too), and old tags. People run the whole
runbook from the channel with signed requests. Then skopeo, not regclean's pull check, proves that
every current image downloads in full, the old tags are gone, and moto's S3 says the bucket shrank.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.installer.layouts import layout_files
from sandbox.kube.fixtures import load_fixture
from sandbox.kube.unkind import METRICS_API
from sandbox.nodes import gate_missing
from sandbox.platform import custom_images
from sandbox.registry import S3Server, skopeo
from sandbox.registry.seed import EXTRA_IMAGES
from sandbox.slack import SlackWorkspace
from sandbox.stack import Sandbox, running_bot
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import (
    RESTORE_CORE,
    RESTORE_CUSTOM,
    RESTORE_PLUGINS,
    VERIFY,
    in_thread,
    purged,
    step_line,
)

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]

SKOPEO_PARALLEL = 6


@pytest.fixture
async def platform(tmp_path: Path, s3: S3Server) -> AsyncIterator[Sandbox]:
    """The sample cluster, with a registry that holds every current image and the old tags,
    metrics-server's aggregated API down, and MinIO writing to its drive on every node as it runs."""
    box = Sandbox(tmp_path / "sandbox", load_fixture(), full_registry=True, s3=s3, live_minio=True)
    box.kube.unavailable_api(METRICS_API)  # as on many real clusters: skipped, and named in the inventory
    await box.start()
    yield box
    await box.stop()


async def tags_after(box: Sandbox, repositories: set[str]) -> set[str]:
    """`repo:tag` of every tag `skopeo list-tags` finds in these repositories."""
    creds = f"{box.registry.username}:{box.registry.password}"

    async def listed(repo: str) -> list[str]:
        out = await skopeo(
            "list-tags", "--tls-verify=false", "--creds", creds, f"docker://{box.registry.address}/{repo}"
        )
        return [f"{repo}:{tag}" for tag in json.loads(out)["Tags"]]

    return {ref for refs in await asyncio.gather(*(listed(r) for r in sorted(repositories))) for ref in refs}


async def pull_in_full(box: Sandbox, references: list[str], into: Path) -> dict[str, str]:
    """`skopeo copy --all` each image into a `dir:` (skopeo checks every blob's digest as it
    downloads; an index with every platform); returns each image's top manifest digest as downloaded."""
    limit = asyncio.Semaphore(SKOPEO_PARALLEL)
    creds = f"{box.registry.username}:{box.registry.password}"
    into.mkdir(parents=True)

    async def one(reference: str) -> tuple[str, str]:
        target = into / reference.replace("/", "_").replace(":", "_")
        async with limit:
            await skopeo(
                "copy", "--all", "--src-tls-verify=false", "--src-creds", creds,
                f"docker://{box.registry.address}/{reference}", f"dir:{target}",
            )  # fmt: skip
        manifest = (target / "manifest.json").read_bytes()
        return reference, "sha256:" + hashlib.sha256(manifest).hexdigest()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(ref)) for ref in references]
    return dict(task.result() for task in tasks)


def pushed_digest(reference: str) -> str:
    """The manifest digest of the image as the installer and the team's export hold it."""
    return str(json.loads(layout_files(reference)["index.json"])["manifests"][0]["digest"])


def of_image(key: str, reference: str) -> bool:
    """Whether a bucket object is the image's: a blob or link of one of its digests, or its tag."""
    repo, _, tag = reference.rpartition(":")
    digests = [rel.rpartition("/")[2] for rel in layout_files(reference) if rel.startswith("blobs/")]
    return f"/repositories/{repo}/_manifests/tags/{tag}/" in key or any(f"/{d}/" in key for d in digests)


def posted(ws: SlackWorkspace, needle: str) -> str | None:
    """The text of the newest message that contains `needle`."""
    found = [text_of(m) for m in ws.messages if needle in text_of(m)]
    return found[-1] if found else None


@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_the_runbook_from_slack_leaves_every_current_image_pulling_and_a_smaller_bucket(
    platform: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = platform.slack
    custom = custom_images(platform)
    old = [ref for ref in EXTRA_IMAGES if ref not in platform.restorable_images]
    current = sorted({*platform.restorable_images, *custom})
    assert len(old) == 3 and custom == ["retail/order-service:1.4.2", "retail/report-builder:2.0.0-rc1"]
    assert set(platform.images) == {*current, *old}, "a registry before its cleanup"
    before = await asyncio.to_thread(platform.s3.object_sizes)
    # The custom images as the registry holds them before the purge; one is a multi-platform index.
    held = await pull_in_full(platform, custom, tmp_path / "held")
    index = json.loads((tmp_path / "held" / "retail_report-builder_2.0.0-rc1" / "manifest.json").read_bytes())
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json" and len(index["manifests"]) == 2

    async with running_bot(platform, "http") as bot:
        await purged(bot, platform)
        # MinIO kept writing on every node during the backup; each backup held and says what changed.
        backed_up = posted(ws, "nodes have a verified backup") or ""
        assert "*3 of 3*" in backed_up
        if gate_missing() is None:  # as root, tar meets the scanner on every node, every time
            assert "tolerated, MinIO's bookkeeping" in backed_up
            assert all(node.scanner.saves_during_backup > 0 for node in platform.nodes.nodes.values())
        assert await asyncio.to_thread(platform.s3.object_count) == 0
        await bot.driver.slash("UALICE", "restore core")
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=60)
        core = await ws.wait_for(lambda w: in_thread(w, "Pull check after the core restore"), timeout=30)
        assert ":white_check_mark: All" in text_of(core)
        await bot.driver.slash("UALICE", "restore plugins")
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_PLUGINS), timeout=90)
        # Nothing of the platform restores the team's own images: they go back from the run's export.
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CUSTOM), timeout=60)
        repushed = await ws.wait_for(lambda w: posted(w, "custom images pushed back and pulled"), timeout=10)
        assert "2 of 2 custom images pushed back and pulled" in repushed
        await ws.wait_for(lambda w: step_line(w, "✅", VERIFY), timeout=60)
        # Every image pulls after the plugin restore: the run closes itself with the final report.
        report = text_of(await ws.wait_for(lambda w: in_thread(w, "Final report — run #"), timeout=60))
        await ws.wait_for(lambda w: "(succeeded)" in (posted(w, "Registry cleanup run #") or ""), timeout=10)
        assert step_line(ws, "✅", "Close the run")
        await bot.bot.runbook.drain()
    assert "succeeded*" in report and "*reclaimed " in report and "*3* old tags gone" in report
    skipped = posted(ws, "Skipped, as kubectl does")
    assert skipped is not None and "`metrics.k8s.io/v1beta1` answered 503 Service Unavailable" in skipped
    assert "Every image that workloads use is back" in report and "`acp/archon:v4.1.0`" in report
    assert "*Custom images*: *2* pushed back from the export and pulled" in report
    # named, not pinged: the thanks at the end are the report's mentions
    assert "approved by* *bob*, *carol*" in report and "requested by* *alice*" in report
    assert "Every operator is still Installed with the same CSV" in report and "Keep the backups" in report
    thanked = report.split("Thank you, ", 1)[1]
    assert all(f"<@{u}>" in thanked for u in ("UALICE", "UBOB", "UCAROL")), "everyone who took part"
    # The passwords given to upload.sh, violet and the pull check appear nowhere.
    said = "\n".join(text_of(m) for m in ws.messages) + "\n".join(e.text for e in ws.ephemerals)
    stored = b"".join(p.read_bytes() for p in Path(platform.workdir).glob("regclean.db*"))
    for secret in (platform.platform_password, platform.registry.password):
        assert secret not in said and secret not in caplog.text and secret.encode() not in stored

    # The old tags are gone, and nothing else is: the registry holds exactly the current images.
    assert await tags_after(platform, {ref.rpartition(":")[0] for ref in platform.images}) == set(current)
    # Every current image downloads in full, and it is the image the platform had before.
    pulled = await pull_in_full(platform, current, tmp_path / "pulled")
    assert pulled == {ref: pushed_digest(ref) for ref in current}
    assert {ref: pulled[ref] for ref in custom} == held, (
        "re-pushed from the export with the digests held before"
    )

    after = await asyncio.to_thread(platform.s3.object_sizes)
    assert sum(after.values()) < sum(before.values()), (sum(before.values()), sum(after.values()))
    # Like for like: what came back is what was there, byte for byte, and no upload was left behind.
    assert not [key for key in after if "/_uploads/" in key]
    assert {key: before.get(key) for key in after} == after
    assert set(before) - set(after) == {key for key in before if any(of_image(key, ref) for ref in old)}
