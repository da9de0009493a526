"""The runbook from Slack against a registry as ACP runs it: HTTPS with the platform's own CA (which
regclean gets as REGCLEAN_REGISTRY_CA_FILE) and blob downloads redirected (307) to pre-signed URLs of
the storage. Purge, restore of the core and of the plugins, the pull checks and the close; then what
reached the storage is read from a recording tap in front of it: the pre-signed GETs came, and none
carried the registry's credentials.

The golden path (`test_golden_path.py`) covers the runbook's details on plain HTTP; this one is about
the transport, and reuses its helpers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.kube.fixtures import load_fixture
from sandbox.platform import custom_images
from sandbox.registry import S3Server, skopeo
from sandbox.registry.proxy import Proxy
from sandbox.stack import Sandbox, running_bot
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.e2e.test_golden_path import posted, pushed_digest
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


@pytest.fixture
async def storage(s3: S3Server) -> AsyncIterator[Proxy]:
    """The recording tap in front of the S3 server: the registry's `regionendpoint`."""
    tap = Proxy(s3.url)
    await tap.start()
    yield tap
    await tap.stop()


@pytest.fixture
async def platform(tmp_path: Path, s3: S3Server, storage: Proxy) -> AsyncIterator[Sandbox]:
    options = {"tls": True, "redirect": True, "storage_endpoint": storage.url}
    box = Sandbox(tmp_path / "sandbox", load_fixture(), s3=s3, registry_options=options)
    await box.start()
    yield box
    await box.stop()


@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_the_runbook_over_https_with_the_platform_ca_and_redirects_to_the_storage(
    platform: Sandbox, storage: Proxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = platform.slack
    env = platform.environment("http")
    assert platform.registry.url.startswith("https://")
    assert env["REGCLEAN_REGISTRY_CA_FILE"] == str(platform.registry.ca_file)
    assert "REGCLEAN_REGISTRY_PLAIN_HTTP" not in env and "REGCLEAN_REGISTRY_INSECURE" not in env

    async with running_bot(platform, "http") as bot:
        await purged(bot, platform)
        assert await asyncio.to_thread(platform.s3.object_count) == 0
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
        custom = custom_images(platform)
        await ws.wait_for(lambda w: "(succeeded)" in (posted(w, "Registry cleanup run #") or ""), timeout=60)
        await bot.bot.runbook.drain()

    # Every blob regclean downloaded came from the storage by a pre-signed URL, without credentials.
    sent = presigned_gets(storage)
    assert len(sent) > downloads and set(sent) == {""}
    for seen in storage.seen:
        assert not seen.headers.get("Authorization", "").startswith(("Basic", "Bearer"))
        assert platform.registry.password not in str(dict(seen.headers)) + seen.query
    assert "REGCLEAN_REGISTRY_INSECURE is deprecated" not in caplog.text
    assert "certificate" not in "\n".join(text_of(m) for m in ws.messages)
    # skopeo, trusting the platform CA (not skipping verification), downloads them as they were.
    creds = f"{platform.registry.username}:{platform.registry.password}"
    (tmp_path / "pulled").mkdir()
    for reference in custom[:1] + sorted(platform.restorable_images)[:2]:
        into = tmp_path / "pulled" / reference.replace("/", "_").replace(":", "_")
        await skopeo(
            "copy", *platform.registry.skopeo_tls("src"), "--src-creds", creds,
            f"docker://{platform.registry.address}/{reference}", f"dir:{into}",
        )  # fmt: skip
        digest = "sha256:" + hashlib.sha256((into / "manifest.json").read_bytes()).hexdigest()
        assert digest == pushed_digest(reference)


def presigned_gets(storage: Proxy) -> list[str]:
    """The Authorization header (or "") of every GET of a pre-signed URL the storage received."""
    return [
        s.headers.get("Authorization", "")
        for s in storage.seen
        if s.method == "GET" and "X-Amz-Signature=" in s.query
    ]
