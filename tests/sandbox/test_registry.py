"""The sandbox's registry storage, checked with the real programs: moto's S3 server, Debian's
docker-registry on its bucket, and skopeo pushing and pulling small OCI images."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

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
