"""The sandbox's registry storage, checked with the real programs: moto's S3 server, Debian's
docker-registry on its bucket, and skopeo pushing and pulling small OCI images."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from http.client import HTTPConnection
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from sandbox.registry import (
    Registry,
    S3Server,
    SkopeoError,
    layout_blobs,
    layout_manifest,
    make_oci_layout,
    pull,
    push,
    registry_binary,
    skopeo,
    skopeo_binary,
)
from sandbox.registry.proxy import Proxy

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        registry_binary() is None, reason="docker-registry is not installed (Debian package docker-registry)"
    ),
    pytest.mark.skipif(skopeo_binary() is None, reason="skopeo is not installed (Debian package skopeo)"),
]

REPO = "sandbox/app"


@pytest.fixture
async def pushed(registry: Registry, tmp_path: Path) -> Path:
    """An image pushed as sandbox/app:1; returns its OCI layout."""
    layout = make_oci_layout(tmp_path / "image", layers=2, seed=7)
    await push(layout, registry, f"{REPO}:1")
    return layout


async def blob_status(registry: Registry, digest: str, method: str = "HEAD") -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, f"{registry.url}/v2/{REPO}/blobs/{digest}", headers=registry.auth_headers()
        ) as resp,
    ):
        return resp.status


async def test_an_image_pushed_with_skopeo_pulls_back_with_the_same_manifest_digest(
    registry: Registry, pushed: Path, tmp_path: Path
) -> None:
    pulled = tmp_path / "pulled"
    await pull(registry, f"{REPO}:1", pulled)
    assert layout_manifest(pulled)["digest"] == layout_manifest(pushed)["digest"]
    assert sorted(layout_blobs(pulled)) == sorted(layout_blobs(pushed))


async def test_the_registry_refuses_wrong_credentials(
    registry: Registry, pushed: Path, tmp_path: Path
) -> None:
    with pytest.raises(SkopeoError):
        await pull(registry, f"{REPO}:1", tmp_path / "pulled", creds=f"{registry.username}:wrong-password")
    with pytest.raises(SkopeoError):
        await skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            "intruder:sandbox-registry-password",
            f"oci:{pushed}",
            f"docker://{registry.address}/{REPO}:2",
        )
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{registry.url}/v2/", headers=registry.auth_headers("nope")) as resp,
    ):
        assert resp.status == 401


def test_the_s3_server_keeps_a_connection_for_several_requests_and_answers_an_empty_put_expecting_100(
    s3: S3Server,
) -> None:
    """As MinIO (Go's net/http) does: HTTP/1.1 keep-alive, and no `100 Continue` for a request with
    no body to continue with (boto3 sends `Expect: 100-continue` with an empty `put_object`)."""
    s3.create_bucket("registry")
    conn = HTTPConnection("127.0.0.1", int(URL(s3.url).port or 0), timeout=10)
    try:
        conn.request("PUT", "/registry/empty", body=b"", headers={"Expect": "100-continue"})
        first = conn.getresponse()
        assert (first.status, first.read()) == (200, b"")
        assert (first.getheader("Connection") or "").lower() != "close"
        conn.request("PUT", "/registry/second", body=b"x")  # on the same connection
        second = conn.getresponse()
        assert (second.status, second.read()) == (200, b"")
    finally:
        conn.close()
    assert s3.object_sizes() == {"empty": 0, "second": 1}


async def test_the_bucket_holds_the_image_after_a_push(
    s3: S3Server, registry: Registry, tmp_path: Path
) -> None:
    assert s3.object_count() == 0
    layout = make_oci_layout(tmp_path / "image", layers=3, layer_size=32 * 1024, seed=3)
    await push(layout, registry, f"{REPO}:1")
    # 3 layers + config + manifest, each a data file, plus the repository's links and tag
    assert s3.object_count() >= 5
    assert s3.bucket_bytes() > 3 * 32 * 1024


async def test_a_blob_stays_visible_from_the_cache_after_the_bucket_is_emptied_until_a_restart(
    s3: S3Server, registry: Registry, pushed: Path
) -> None:
    layer = layout_blobs(pushed)[1]
    assert await blob_status(registry, layer) == 200

    assert s3.empty_bucket() > 0
    assert s3.object_count() == 0
    # The hazard: the running registry's in-memory blob-descriptor cache still says the blob exists.
    assert await blob_status(registry, layer) == 200

    await registry.restart()
    assert await blob_status(registry, layer) == 404


@pytest.fixture
async def platform_registry(s3: S3Server, tmp_path: Path) -> AsyncIterator[Registry]:
    """The registry as ACP runs it: HTTPS with a CA made at start-up, blob downloads redirected."""
    reg = Registry(s3, tmp_path / "tls-registry", tls=True, redirect=True)
    await reg.start()
    yield reg
    await reg.stop()


async def test_over_https_skopeo_trusts_the_ca_and_a_client_without_it_is_refused(
    platform_registry: Registry, tmp_path: Path
) -> None:
    assert platform_registry.url.startswith("https://") and platform_registry.ca_file is not None
    layout = make_oci_layout(tmp_path / "image", layers=1, seed=8)
    await push(layout, platform_registry, f"{REPO}:1")  # --dest-cert-dir with the CA
    await pull(platform_registry, f"{REPO}:1", tmp_path / "pulled")
    assert layout_manifest(tmp_path / "pulled")["digest"] == layout_manifest(layout)["digest"]
    with pytest.raises(SkopeoError, match="certificate signed by unknown authority"):
        await skopeo("inspect", "--creds", "admin:x", f"docker://{platform_registry.address}/{REPO}:1")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"{platform_registry.url}/v2/")


async def test_with_redirects_a_blob_get_is_a_307_to_a_presigned_url_of_the_bucket(
    platform_registry: Registry, s3: S3Server, tmp_path: Path
) -> None:
    layout = make_oci_layout(tmp_path / "image", layers=1, seed=9)
    await push(layout, platform_registry, f"{REPO}:1")
    layer = layout_blobs(layout)[1]
    connector = aiohttp.TCPConnector(ssl=platform_registry.ssl_context() or True)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"{platform_registry.url}/v2/{REPO}/blobs/{layer}"
        headers = platform_registry.auth_headers()
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            assert resp.status == 307
            location = resp.headers["Location"]
        assert location.startswith(f"{s3.url}/registry/docker/registry/v2/blobs/sha256/")
        assert "X-Amz-Signature=" in location
        async with session.get(URL(location, encoded=True)) as stored:  # no credentials: the URL is signed
            assert stored.status == 200
            assert "sha256:" + hashlib.sha256(await stored.read()).hexdigest() == layer


async def test_the_busy_proxy_sheds_the_first_requests_with_retry_after_then_passes_through(
    registry: Registry,
) -> None:
    proxy = Proxy(registry.url)
    await proxy.start()
    try:
        proxy.busy(2, status=429, retry_after="3")
        async with aiohttp.ClientSession(headers=registry.auth_headers()) as session:
            answers = []
            for _ in range(3):
                async with session.get(f"{proxy.url}/v2/_catalog") as resp:
                    answers.append((resp.status, resp.headers.get("Retry-After"), await resp.json()))
        assert [a[:2] for a in answers] == [(429, "3"), (429, "3"), (200, None)]
        assert answers[0][2]["errors"][0]["code"] == "TOOMANYREQUESTS"
        assert answers[2][2] == {"repositories": []}
        assert proxy.answered_busy == 2 and len(proxy.seen) == 3
    finally:
        await proxy.stop()
