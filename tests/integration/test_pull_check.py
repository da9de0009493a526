"""The pull check against Debian's docker-registry on moto's S3: images pushed with skopeo, then
broken in the bucket the ways a purge and a careless re-push break them."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import aiohttp
import pytest

from actions.pull_check import PullResult, check_pulls
from actions.registry import RegistryClient, RegistryTarget
from sandbox.registry import (
    Registry,
    S3Server,
    layout_blobs,
    layout_manifest,
    make_oci_layout,
    push,
)
from sandbox.registry.images import make_oci_index_layout, platform_manifests
from sandbox.registry.process import free_port
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]

CANARY = "canary-registry-password-Zq7"


@pytest.fixture
async def core(registry: Registry, tmp_path: Path) -> Path:
    """acp/core:1 (three layers), pushed; returns its layout."""
    layout = make_oci_layout(tmp_path / "core", layers=3, layer_size=32 * 1024, seed=11)
    await push(layout, registry, "acp/core:1")
    return layout


def target(reg: Registry, password: str | None = None) -> RegistryTarget:
    return RegistryTarget(reg.address, reg.username, password or reg.password, plain_http=True)


def blob_key(digest: str) -> str:
    """Where distribution's S3 driver keeps a blob's bytes (rootdirectory `/`)."""
    hex_ = digest.removeprefix("sha256:")
    return f"docker/registry/v2/blobs/sha256/{hex_[:2]}/{hex_}/data"


def blob_bytes(layout: Path) -> int:
    """The bytes of every config and layer of the layout's image (every platform)."""
    return sum(
        (layout / "blobs" / "sha256" / d.removeprefix("sha256:")).stat().st_size for d in layout_blobs(layout)
    )


async def check(reg: Registry, *images: str, password: str | None = None) -> list[PullResult]:
    return await check_pulls(target(reg, password), images, concurrency=4)


async def test_good_images_pull_with_every_manifest_and_blob_counted(
    registry: Registry, core: Path, tmp_path: Path
) -> None:
    other = make_oci_layout(tmp_path / "other", layers=2, seed=12)
    await push(other, registry, "3rdparty/tool:2.0")
    manifest = layout_manifest(core)["digest"]
    images = ["3rdparty/tool:2.0", "acp/core:1", f"{registry.address}/acp/core:1", f"acp/core@{manifest}"]
    seen: list[str] = []

    async def record(result: PullResult) -> None:
        seen.append(result.image)

    results = await check_pulls(target(registry), images, concurrency=2, on_result=record)
    assert [r.image for r in results] == images
    assert sorted(seen) == sorted(images)
    assert [(r.pullable, r.problem) for r in results] == [(True, None)] * 4
    assert (results[0].manifests, results[0].blobs, results[0].bytes) == (1, 3, blob_bytes(other))
    assert all((r.manifests, r.blobs, r.bytes) == (1, 4, blob_bytes(core)) for r in results[1:])


async def test_a_repository_alone_means_latest(registry: Registry, core: Path) -> None:
    await push(core, registry, "acp/core:latest")
    [latest, missing] = await check(registry, "acp/core", "3rdparty/tool")
    assert latest.pullable and latest.blobs == 4
    assert missing.problem == "no manifest: 3rdparty/tool:latest"


async def test_an_index_resolves_to_every_platform_manifest(registry: Registry, tmp_path: Path) -> None:
    layout = make_oci_index_layout(tmp_path / "multi", architectures=("amd64", "arm64"), layers=2, seed=5)
    await push(layout, registry, "acp/multi:v1", all_platforms=True)
    index = layout_manifest(layout)["digest"]
    results = await check(registry, "acp/multi:v1", f"acp/multi@{index}")
    assert len(platform_manifests(layout)) == 2
    for result in results:
        assert (result.pullable, result.manifests, result.blobs) == (True, 2, 6), result
        assert result.bytes == blob_bytes(layout)


async def test_a_platform_manifest_missing_from_an_index_is_named(
    s3: S3Server, registry: Registry, tmp_path: Path
) -> None:
    layout = make_oci_index_layout(tmp_path / "multi", seed=6)
    await push(layout, registry, "acp/multi:v1", all_platforms=True)
    arm64 = platform_manifests(layout)[1]["digest"]
    s3.client().delete_object(Bucket=registry.bucket, Key=blob_key(arm64))
    await registry.restart()
    [result] = await check(registry, "acp/multi:v1")
    assert result.problem == f"no manifest: {arm64} of acp/multi:v1"


async def test_a_blob_missing_from_the_bucket_names_the_image_and_the_blob(
    s3: S3Server, registry: Registry, core: Path, tmp_path: Path
) -> None:
    other = make_oci_layout(tmp_path / "other", seed=13)
    await push(other, registry, "acp/other:1")
    layer = layout_blobs(core)[2]
    s3.client().delete_object(Bucket=registry.bucket, Key=blob_key(layer))
    await registry.restart()  # the blob-descriptor cache is cold: the registry looks in the bucket
    broken, fine = await check(registry, "acp/core:1", "acp/other:1")
    assert (broken.pullable, broken.problem) == (False, f"missing blob: {layer} of acp/core:1")
    assert fine.pullable


async def test_a_blob_the_cache_still_vouches_for_is_not_pullable(
    s3: S3Server, registry: Registry, core: Path
) -> None:
    layer = layout_blobs(core)[1]
    s3.client().delete_object(Bucket=registry.bucket, Key=blob_key(layer))
    async with (
        aiohttp.ClientSession(headers=registry.auth_headers()) as session,
        session.head(f"{registry.url}/v2/acp/core/blobs/{layer}") as head,
    ):
        # the stale cache (docs/architecture.md, "Verification"): without a restart it says the blob exists
        assert head.status == 200
    [result] = await check(registry, "acp/core:1")
    assert not result.pullable
    assert result.problem is not None
    assert result.problem.startswith(f"missing blob: {layer} of acp/core:1 (short read: 0 of ")


async def test_a_tampered_blob_is_a_digest_mismatch(s3: S3Server, registry: Registry, core: Path) -> None:
    layer = layout_blobs(core)[1]
    client = s3.client()
    size = len(client.get_object(Bucket=registry.bucket, Key=blob_key(layer))["Body"].read())
    other = random.Random(99).randbytes(size)
    client.put_object(Bucket=registry.bucket, Key=blob_key(layer), Body=other)
    [result] = await check(registry, "acp/core:1")
    got = "sha256:" + hashlib.sha256(other).hexdigest()
    assert result.problem == f"digest mismatch: blob {layer} of acp/core:1 (got {got})"


async def test_a_missing_tag_or_repository_has_no_manifest(registry: Registry, core: Path) -> None:
    results = await check(registry, "acp/core:2", "acp/nothing:1", f"acp/core@sha256:{'0' * 64}")
    assert [r.problem for r in results] == [
        "no manifest: acp/core:2",
        "no manifest: acp/nothing:1",
        f"no manifest: acp/core@sha256:{'0' * 64}",
    ]


async def test_a_wrong_password_is_an_auth_problem_that_never_shows_the_password(
    registry: Registry, core: Path
) -> None:
    [result] = await check(registry, "acp/core:1", password=CANARY)
    assert not result.pullable
    assert result.problem is not None and result.problem.startswith("auth: ")
    assert registry.username in result.problem
    assert CANARY not in repr(result)


async def test_bearer_token_auth_pulls_and_refuses_a_wrong_password(s3: S3Server, tmp_path: Path) -> None:
    registry = Registry(s3, tmp_path / "token-registry", password=CANARY, auth="token")
    await registry.start()
    try:
        layout = make_oci_layout(tmp_path / "image", layers=2, seed=21)
        await push(layout, registry, "acp/core:1")
        await push(layout, registry, "acp/mirror:1")
        assert registry.token_server is not None
        issued = registry.token_server.issued
        results = await check(registry, "acp/core:1", "acp/mirror:1", "acp/core:1")
        assert [(r.pullable, r.blobs) for r in results] == [(True, 3)] * 3
        assert registry.token_server.issued == issued + 2  # one token per repository, cached
        async with RegistryClient(target(registry)) as client:  # the catalog over the same token flow
            assert (await client.record()).repositories == {"acp/core": ("1",), "acp/mirror": ("1",)}

        [refused] = await check(registry, "acp/core:1", password="wrong-" + CANARY[::-1])
        assert refused.problem is not None and refused.problem.startswith("auth: The token service")
        assert registry.token_server.refused >= 1
        assert CANARY not in repr(refused) and CANARY[::-1] not in repr(refused)
    finally:
        await registry.stop()


async def test_references_that_are_not_in_the_platform_registry_are_problems_not_exceptions() -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens: none of these may send a request
    images = ["", "Acp/Core:1", "acp/core:bad tag", "acp/core@sha256:1234", "acp/core@", "quay.io/acp/core:1"]
    results = await check_pulls(RegistryTarget(address, "u", "p", plain_http=True), images, concurrency=2)
    problems = [r.problem or "" for r in results]
    assert all(p.startswith("bad reference: ") for p in problems[:5]), problems
    assert problems[1] == "bad reference: 'Acp/Core:1' has no valid repository name"
    assert problems[5] == f"not in the platform registry {address}: quay.io/acp/core:1 is on quay.io"
    assert not any(r.pullable for r in results)


async def test_an_unreachable_registry_is_a_problem_of_each_image() -> None:
    address = f"127.0.0.1:{free_port()}"
    results = await check_pulls(
        RegistryTarget(address, "u", CANARY, plain_http=True), ["a:1", "b:2"], concurrency=1
    )
    assert [r.problem and r.problem.split(":")[0] for r in results] == ["unreachable", "unreachable"]
    assert all(address in (r.problem or "") and CANARY not in (r.problem or "") for r in results)
