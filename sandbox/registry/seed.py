"""The platform registry's content when the sandbox starts: the images the fixture's workloads
pull from it, the probe image, and a few old tags (what a cleanup is for).

The first sandbox of a process pushes every image with skopeo through the running registry. That
costs about 60 S3 requests per image in moto, so the objects that push left in the bucket are kept,
and later sandboxes copy them straight into their own bucket, then read every blob once through
the registry so that its in-memory blob-descriptor cache is as warm as after a push (the hazard of
design §1 depends on it).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from .images import layout_blobs, layout_manifest, make_oci_layout, push
from .registry import Registry

EXTRA_IMAGES = ("acp/core:latest", "acp/archon:v4.1.0", "acp/courier-api:v4.1.2", "acp/toolbox:v4.1.0")
"""The probe image (design §5) and old tags that no workload uses any more."""

LAYER_SIZE = 2048
PARALLEL = 8
_WORKLOAD_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})


@dataclass(frozen=True)
class Snapshot:
    """The bucket's objects after the pushes, and each image's blob digests (config, layers, manifest)."""

    objects: Mapping[str, bytes]
    blobs: Mapping[str, tuple[str, ...]]


_SNAPSHOTS: dict[tuple[str, ...], Snapshot] = {}
_ACCEPT = {
    "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
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


def image_seed(reference: str) -> int:
    """The layout seed of an image: the same reference has the same digests in every sandbox."""
    return int.from_bytes(hashlib.sha256(reference.encode()).digest()[:4], "big")


async def start_seeded(registry: Registry, references: Sequence[str], layouts: Path) -> None:
    """Start the registry holding these images (`repo:tag`); `layouts` is scratch space for skopeo."""
    key = tuple(sorted(set(references)))
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is None:
        await registry.start()
        _SNAPSHOTS[key] = await _push_all(registry, key, layouts)
        return
    # The bucket first, so that the copy can run while the registry starts (it creates it again: a no-op).
    await asyncio.to_thread(_create_bucket, registry)
    await asyncio.gather(registry.start(), asyncio.to_thread(_copy_in, registry, snapshot.objects))
    await _warm(registry, snapshot.blobs)


async def _push_all(registry: Registry, references: Sequence[str], layouts: Path) -> Snapshot:
    limit = asyncio.Semaphore(PARALLEL)
    blobs: dict[str, tuple[str, ...]] = {}

    async def one(index: int, reference: str) -> None:
        layout = make_oci_layout(
            layouts / str(index), layers=1, layer_size=LAYER_SIZE, seed=image_seed(reference)
        )
        blobs[reference] = (*layout_blobs(layout), str(layout_manifest(layout)["digest"]))
        async with limit:
            await push(layout, registry, reference)

    await asyncio.gather(*(one(i, ref) for i, ref in enumerate(references)))
    objects = await asyncio.to_thread(_copy_out, registry)
    return Snapshot(objects, blobs)


def _copy_out(registry: Registry) -> dict[str, bytes]:
    client = registry.s3.client()
    try:
        paginator = client.get_paginator("list_objects_v2")
        keys = [
            o["Key"] for page in paginator.paginate(Bucket=registry.bucket) for o in page.get("Contents", [])
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
    client = registry.s3.client()
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(
                pool.map(
                    lambda kv: client.put_object(Bucket=registry.bucket, Key=kv[0], Body=kv[1]),
                    objects.items(),
                )
            )
    finally:
        client.close()


async def _warm(registry: Registry, blobs: Mapping[str, tuple[str, ...]]) -> None:
    """HEAD every blob and manifest through the registry, which caches each descriptor it finds."""
    limit = asyncio.Semaphore(PARALLEL)
    async with aiohttp.ClientSession(headers=registry.auth_headers()) as session:

        async def head(path: str) -> None:
            async with limit, session.head(f"{registry.url}{path}", headers=_ACCEPT) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"sandbox registry: HEAD {path} answered {resp.status} after the copy")

        paths = []
        for reference, digests in blobs.items():
            repo, _, tag = reference.rpartition(":")
            paths += [f"/v2/{repo}/blobs/{d}" for d in digests[:-1]]
            paths.append(f"/v2/{repo}/manifests/{tag}")
        await asyncio.gather(*(head(p) for p in paths))
