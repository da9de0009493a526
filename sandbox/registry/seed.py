"""The platform registry's content when the sandbox starts: the images the fixture's workloads
pull from it, the probe image, and a few old tags (what a cleanup is for), and, when asked, every
image the installer and the packages hold too.

An image is pushed with skopeo through the running registry the first time a sandbox of the process
needs it. That costs about 60 S3 requests per image in moto, so the objects each push left in the
bucket are kept per image, and later sandboxes copy them straight into their own bucket, then read
every blob once through the registry so that its in-memory blob-descriptor cache is as warm as after
a push (the stale-cache hazard in docs/architecture.md, "Verification", depends on it). A sandbox
pushes only the images no earlier one had. On an S3 server that an earlier sandbox used (the tests
share one per process), the copy puts only the objects the bucket lacks or holds otherwise, and
deletes the rest: after a sandbox that left the bucket as it was seeded, that is one listing.

Pushes are also kept for the other processes of a test run (`seed_cache.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp

from .images import (
    INDEX_TYPE,
    layout_blobs,
    layout_manifest,
    make_oci_index_layout,
    make_oci_layout,
    platform_manifests,
    push,
)
from .registry import Registry
from .seed_cache import Pushed, keep_pushes, kept_pushes

EXTRA_IMAGES = ("acp/core:latest", "acp/archon:v4.1.0", "acp/courier-api:v4.1.2", "acp/toolbox:v4.1.0")
"""The probe image (docs/architecture.md, "Verification") and old tags that no workload uses any more."""

LAYER_SIZE = 2048
PARALLEL = 8
STORAGE_ROOT = "docker/registry/v2/"
"""Where distribution keeps its blobs and repositories in the bucket (`rootdirectory: /`)."""
_WORKLOAD_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})


_PUSHED: dict[str, Pushed] = {}
"""`repo:tag` -> its push, for every image a sandbox of this process has pushed."""
_ACCEPT = {
    "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, "
    f"{INDEX_TYPE}, application/vnd.docker.distribution.manifest.list.v2+json"
}


def workload_images(objects: Iterable[Mapping[str, Any]], registry: str) -> list[str]:
    """`repo:tag` of every image that the fixture's workloads pull from `registry` (`host:port`), sorted."""
    prefix = registry.rstrip("/") + "/"
    found: set[str] = set()
    for obj in objects:
        if obj.get("kind") in _WORKLOAD_KINDS:
            for image in _images(obj):
                ref = image[len(prefix) :] if image.startswith(prefix) else None
                if ref and "@" not in ref and ":" in ref.rsplit("/", 1)[-1]:
                    found.add(ref)
    return sorted(found)


def _images(node: Any) -> Iterable[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                yield value
            else:
                yield from _images(value)
    elif isinstance(node, list):
        for item in node:
            yield from _images(item)


MULTI_ARCH = frozenset({"retail/report-builder:2.0.0-rc1"})
"""Images seeded as a multi-platform OCI index (linux/amd64 and linux/arm64): a custom image that the
export must keep whole, every platform, with the index's own digest."""


def build_layout(directory: Path, reference: str) -> Path:
    """Write the image's OCI layout (an index for `MULTI_ARCH`), the same digests in every sandbox."""
    seed = image_seed(reference)
    if reference in MULTI_ARCH:
        return make_oci_index_layout(directory, layers=1, layer_size=LAYER_SIZE, seed=seed)
    return make_oci_layout(directory, layers=1, layer_size=LAYER_SIZE, seed=seed)


def layout_digests(layout: Path) -> tuple[str, ...]:
    """Every digest the image's objects are stored under: configs, layers, platform manifests, the top."""
    top = layout_manifest(layout)
    platforms = (
        [str(m["digest"]) for m in platform_manifests(layout)] if top["mediaType"] == INDEX_TYPE else []
    )
    return (*layout_blobs(layout), *platforms, str(top["digest"]))


def image_seed(reference: str) -> int:
    """The layout seed of an image: the same reference has the same digests in every sandbox."""
    return int.from_bytes(hashlib.sha256(reference.encode()).digest()[:4], "big")


async def start_seeded(registry: Registry, references: Sequence[str], layouts: Path) -> None:
    """Start the registry holding these images (`repo:tag`); `layouts` is scratch space for skopeo."""
    wanted = sorted(set(references))
    _PUSHED.update(kept_pushes([ref for ref in wanted if ref not in _PUSHED]))
    known = {ref: _PUSHED[ref] for ref in wanted if ref in _PUSHED}
    objects = {key: body for pushed in known.values() for key, body in pushed.objects.items()}
    # The bucket first, so that the copy can run while the registry starts (it creates it again: a no-op).
    await asyncio.to_thread(_create_bucket, registry)
    await asyncio.gather(registry.start(), asyncio.to_thread(_copy_in, registry, objects))
    await _warm(registry, known)
    missing = [ref for ref in wanted if ref not in known]
    if missing:
        pushed = await _push_all(registry, missing, layouts, copied=objects.keys())
        _PUSHED.update(pushed)
        keep_pushes(pushed)


async def _push_all(
    registry: Registry, references: Sequence[str], layouts: Path, copied: Collection[str]
) -> dict[str, Pushed]:
    limit = asyncio.Semaphore(PARALLEL)
    digests: dict[str, tuple[str, ...]] = {}
    platforms: dict[str, tuple[str, ...]] = {}

    async def one(index: int, reference: str) -> None:
        layout = build_layout(layouts / str(index), reference)
        digests[reference] = layout_digests(layout)
        if layout_manifest(layout)["mediaType"] == INDEX_TYPE:
            platforms[reference] = tuple(str(m["digest"]) for m in platform_manifests(layout))
        async with limit:
            await push(layout, registry, reference, all_platforms=reference in MULTI_ARCH)

    await asyncio.gather(*(one(i, ref) for i, ref in enumerate(references)))
    objects = await asyncio.to_thread(_copy_out, registry, copied)
    owned = split_by_image(objects, digests)
    return {ref: Pushed(owned[ref], digests[ref], platforms.get(ref, ())) for ref in references}


def split_by_image(
    objects: Mapping[str, bytes], digests: Mapping[str, Collection[str]]
) -> dict[str, dict[str, bytes]]:
    """Each image's objects (`digests`: `repo:tag` -> its blob and manifest digests): the data of its
    blobs, and its repository's links to them and to its tag. Raises if an object is nobody's, so
    that a change in the registry's storage layout cannot drop objects unnoticed."""
    by_hex: dict[str, set[str]] = {}
    for reference, image_digests in digests.items():
        for digest in image_digests:
            by_hex.setdefault(digest.removeprefix("sha256:"), set()).add(reference)
    owned: dict[str, dict[str, bytes]] = {reference: {} for reference in digests}
    for key, body in objects.items():
        owners = _owners(key, by_hex, digests.keys())
        if not owners:
            raise RuntimeError(f"sandbox registry: no seeded image owns the bucket's object {key}")
        for reference in owners:
            owned[reference][key] = body
    return owned


def _owners(key: str, by_hex: Mapping[str, set[str]], references: Collection[str]) -> set[str]:
    parts = key.removeprefix(STORAGE_ROOT).split("/")
    if parts[:2] == ["blobs", "sha256"] and len(parts) == 5:  # blobs/sha256/ab/HEX/data
        return set(by_hex.get(parts[3], ()))
    if parts[0] != "repositories" or not any(p.startswith("_") for p in parts):
        return set()
    cut = next(i for i, p in enumerate(parts) if p.startswith("_"))
    repo, rest = "/".join(parts[1:cut]), parts[cut:]
    if rest[:2] == ["_manifests", "tags"] and len(rest) > 2:  # _manifests/tags/TAG/...
        return {f"{repo}:{rest[2]}"} & set(references)
    if "sha256" in rest[:-1]:  # _layers/sha256/HEX/link, _manifests/revisions/sha256/HEX/link
        hex_digest = rest[rest.index("sha256") + 1]
        return {ref for ref in by_hex.get(hex_digest, ()) if ref.rpartition(":")[0] == repo}
    return set()


def _copy_out(registry: Registry, skip: Collection[str]) -> dict[str, bytes]:
    client = registry.s3.client()
    try:
        paginator = client.get_paginator("list_objects_v2")
        keys = [
            o["Key"]
            for page in paginator.paginate(Bucket=registry.bucket)
            for o in page.get("Contents", [])
            if o["Key"] not in skip
        ]
        with ThreadPoolExecutor(PARALLEL) as pool:
            bodies = pool.map(lambda k: client.get_object(Bucket=registry.bucket, Key=k)["Body"].read(), keys)
            return dict(zip(keys, bodies, strict=True))
    finally:
        client.close()


def _create_bucket(registry: Registry) -> None:
    client = registry.s3.client()
    try:
        client.create_bucket(Bucket=registry.bucket)
    finally:
        client.close()


def _copy_in(registry: Registry, objects: Mapping[str, bytes]) -> None:
    """Make the bucket hold exactly `objects`."""
    client = registry.s3.client()
    try:
        paginator = client.get_paginator("list_objects_v2")
        held = {
            o["Key"]: o["ETag"].strip('"')
            for page in paginator.paginate(Bucket=registry.bucket)
            for o in page.get("Contents", [])
        }
        stale = [key for key in held if key not in objects]
        for start in range(0, len(stale), 1000):
            batch = [{"Key": key} for key in stale[start : start + 1000]]
            client.delete_objects(Bucket=registry.bucket, Delete={"Objects": batch, "Quiet": True})
        # a plain PUT's ETag is the body's MD5
        wanted = [
            (key, body)
            for key, body in objects.items()
            if held.get(key) != hashlib.md5(body, usedforsecurity=False).hexdigest()
        ]
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(
                pool.map(
                    lambda kv: client.put_object(Bucket=registry.bucket, Key=kv[0], Body=kv[1]),
                    wanted,
                )
            )
    finally:
        client.close()


async def _warm(registry: Registry, pushed: Mapping[str, Pushed]) -> None:
    """HEAD every blob and manifest through the registry, which caches each descriptor it finds
    (before it answers, so a redirect to the storage, not followed, counts as found)."""
    limit = asyncio.Semaphore(PARALLEL)
    connector = aiohttp.TCPConnector(ssl=registry.ssl_context() or True)
    async with aiohttp.ClientSession(headers=registry.auth_headers(), connector=connector) as session:

        async def head(path: str) -> None:
            url = f"{registry.url}{path}"
            async with limit, session.head(url, headers=_ACCEPT, allow_redirects=False) as resp:
                if resp.status not in (200, 307):
                    raise RuntimeError(f"sandbox registry: HEAD {path} answered {resp.status} after the copy")

        paths = []
        for reference, image in pushed.items():
            repo, _, tag = reference.rpartition(":")
            paths += [f"/v2/{repo}/blobs/{d}" for d in image.digests[:-1] if d not in image.platforms]
            paths += [f"/v2/{repo}/manifests/{d}" for d in image.platforms]
            paths.append(f"/v2/{repo}/manifests/{tag}")
        await asyncio.gather(*(head(p) for p in paths))
