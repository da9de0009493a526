"""The registry client against a registry as ACP runs it: Debian's docker-registry over HTTPS with
the platform's own CA, redirecting blob downloads (307) to pre-signed URLs of its S3 storage.

A recording tap sits between the registry and moto's S3 server, so what "the storage" received is
known: the registry's own signed requests, and the pull check's GETs of the pre-signed URLs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from actions.pull_check import check_pulls
from actions.registry import RegistryClient, RegistryTarget
from actions.registry_http import RegistryTlsError
from sandbox.registry import Registry, S3Server, layout_blobs, make_oci_layout, push
from sandbox.registry.proxy import Proxy
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]

CANARY = "canary-https-registry-password-8Qx"


@dataclass
class Platform:
    registry: Registry
    storage: Proxy
    """What reaches the S3 server (the registry's `regionendpoint`, and the pre-signed URLs' host)."""
    image: Path
    """The layout of acp/core:1, pushed."""

    def target(self, **overrides: object) -> RegistryTarget:
        values: dict[str, object] = {
            "address": self.registry.address,
            "username": self.registry.username,
            "password": self.registry.password,
            "ca_file": str(self.registry.ca_file),
        }
        values.update(overrides)
        return RegistryTarget(**values)  # type: ignore[arg-type]

    def presigned_gets(self) -> list[str]:
        """The Authorization header (or "") of every GET of a pre-signed URL the storage received."""
        return [
            seen.headers.get("Authorization", "")
            for seen in self.storage.seen
            if seen.method == "GET" and "X-Amz-Signature=" in seen.query
        ]


async def start(s3: S3Server, workdir: Path, *, redirect: bool) -> tuple[Registry, Proxy]:
    storage = Proxy(s3.url)
    await storage.start()
    registry = Registry(
        s3, workdir, password=CANARY, tls=True, redirect=redirect, storage_endpoint=storage.url
    )
    await registry.start()
    return registry, storage


@pytest.fixture
async def platform(s3: S3Server, tmp_path: Path) -> AsyncIterator[Platform]:
    """HTTPS with a CA made at start-up, redirects on (distribution's default), acp/core:1 pushed
    with skopeo trusting that CA."""
    registry, storage = await start(s3, tmp_path / "registry", redirect=True)
    try:
        image = make_oci_layout(tmp_path / "core", layers=3, layer_size=16 * 1024, seed=21)
        await push(image, registry, "acp/core:1")
        yield Platform(registry, storage, image)
    finally:
        await registry.stop()
        await storage.stop()


async def test_with_the_ca_file_images_pull_over_https_following_redirects_without_credentials(
    platform: Platform,
) -> None:
    before = len(platform.presigned_gets())
    [result] = await check_pulls(platform.target(), ["acp/core:1"], concurrency=4)
    assert (result.pullable, result.problem, result.blobs) == (True, None, 4)
    # Every blob came from the storage through a pre-signed URL, none with the registry's credentials.
    sent = platform.presigned_gets()[before:]
    assert len(sent) == len(layout_blobs(platform.image)) == 4
    assert sent == [""] * 4
    for seen in platform.storage.seen:
        assert not seen.headers.get("Authorization", "").startswith(("Basic", "Bearer"))
        assert CANARY not in str(dict(seen.headers)) + seen.query
    async with RegistryClient(platform.target()) as client:
        assert (await client.record()).repositories == {"acp/core": ("1",)}


async def test_without_the_ca_file_the_unknown_authority_is_named_with_the_fix(platform: Platform) -> None:
    [result] = await check_pulls(platform.target(ca_file=None), ["acp/core:1"], concurrency=1)
    assert not result.pullable and result.problem is not None
    assert result.problem.startswith("tls: certificate signed by an unknown authority")
    assert "set REGCLEAN_REGISTRY_CA_FILE to the PEM bundle of the platform's CA" in result.problem
    assert "Traceback" not in result.problem and CANARY not in result.problem
    async with RegistryClient(platform.target(ca_file=None)) as client:
        with pytest.raises(RegistryTlsError, match=r"unknown authority.*REGCLEAN_REGISTRY_CA_FILE"):
            await client.record()


async def test_a_certificate_for_another_host_is_named_as_a_hostname_mismatch(platform: Platform) -> None:
    port = platform.registry.address.rsplit(":", 1)[1]
    # The certificate names 127.0.0.1; `localhost` reaches the same server under another name.
    [result] = await check_pulls(platform.target(address=f"localhost:{port}"), ["acp/core:1"], concurrency=1)
    assert result.problem is not None
    assert result.problem.startswith(f"tls: certificate is not valid for localhost:{port} (hostname mismatch")
    assert "REGCLEAN_REGISTRY" in result.problem


async def test_plain_http_to_an_https_registry_is_named(platform: Platform) -> None:
    [result] = await check_pulls(platform.target(plain_http=True), ["acp/core:1"], concurrency=1)
    assert result.problem is not None and result.problem.startswith("tls: ")
    assert "serves HTTPS, but REGCLEAN_REGISTRY_PLAIN_HTTP" in result.problem


async def test_https_to_a_plain_http_registry_is_named(registry: Registry) -> None:
    target = RegistryTarget(registry.address, registry.username, registry.password)
    async with RegistryClient(target) as client:
        with pytest.raises(RegistryTlsError, match=r"does not speak TLS.*REGCLEAN_REGISTRY_PLAIN_HTTP=true"):
            await client.record()


async def test_a_ca_file_that_is_no_certificate_is_named_for_every_image(
    platform: Platform, tmp_path: Path
) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    results = await check_pulls(platform.target(ca_file=str(bad)), ["acp/core:1", "acp/x:2"], concurrency=1)
    assert [r.problem for r in results] == [
        f"tls: REGCLEAN_REGISTRY_CA_FILE {bad} holds no PEM certificate: give the platform CA's "
        "certificate (-----BEGIN CERTIFICATE-----)."
    ] * 2


async def test_after_the_purge_a_redirect_to_a_deleted_blob_is_a_missing_blob(platform: Platform) -> None:
    """The stale blob-descriptor cache still redirects; the storage answers 404, the truth."""
    [before] = await check_pulls(platform.target(), ["acp/core:1"], concurrency=1)
    assert before.pullable
    platform.registry.s3.empty_bucket()
    [after] = await check_pulls(platform.target(), ["acp/core:1"], concurrency=1)
    assert after.problem is not None
    assert after.problem.startswith(("missing blob: sha256:", "no manifest: acp/core:1"))


async def test_with_redirects_off_the_storage_never_sees_a_client(s3: S3Server, tmp_path: Path) -> None:
    registry, storage = await start(s3, tmp_path / "registry", redirect=False)
    try:
        image = make_oci_layout(tmp_path / "core", layers=1, seed=22)
        await push(image, registry, "acp/core:1")
        target = RegistryTarget(
            registry.address, registry.username, registry.password, ca_file=str(registry.ca_file)
        )
        [result] = await check_pulls(target, ["acp/core:1"], concurrency=1)
        assert result.pullable, result.problem
        assert not [s for s in storage.seen if "X-Amz-Signature=" in s.query]
    finally:
        await registry.stop()
        await storage.stop()
