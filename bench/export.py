"""Benchmark: regclean's export and re-push of custom images against skopeo doing the same.

The sandbox registry (Debian's docker-registry on moto's S3, htpasswd basic auth as the
platform's) holds IMAGES images in REPOS repositories, each with LAYERS layers of its own random
bytes; one of them is a multi-arch index (two platforms). Then, alternating, RUNS times each:
  skopeo:   `skopeo copy [--all] docker://REGISTRY/REF oci:DIR:REF` for every image, one after
            another, into one OCI layout; the registry's storage emptied (every object of its bucket
            deleted, the registry restarted); `skopeo copy [--all] --preserve-digests oci:DIR:REF
            docker://REGISTRY/REF` for every image
  regclean: `export_images(...)` into a directory; the storage emptied the same way;
            `push_images(...)` (which reads every blob back and checks it first)
Only the export and the push are timed, not the emptying. After each push every image must pull
with its original digest (`check_pulls` by digest, untimed). The best run of each counts
(interference on this machine only ever adds time); the medians are printed too.

Run: .venv/bin/python bench/export.py      Last line: ratio=X   (regclean / skopeo; target <= 1.0)
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.image_export import LocalExportStore, export_images, push_images  # noqa: E402
from actions.pull_check import check_pulls  # noqa: E402
from actions.registry import RegistryTarget  # noqa: E402
from sandbox.registry import Registry, S3Server, layout_manifest, make_oci_layout, push, skopeo  # noqa: E402
from sandbox.registry.images import make_oci_index_layout  # noqa: E402

IMAGES = 50
REPOS = 10
LAYERS = 4
LAYER_SIZE = 64 * 1024
PUSHERS = 8
RUNS = 3
CONCURRENCY = 4
"""export_images and push_images' default."""
MULTI = 0
"""The index of the multi-arch image."""


def references() -> list[str]:
    return [f"custom/app-{i % REPOS:02d}:v{i // REPOS}" for i in range(IMAGES)]


async def seed(registry: Registry, layouts: Path) -> dict[str, str]:
    """Push every image (distinct content from its own seed); returns each reference's digest."""
    limit = asyncio.Semaphore(PUSHERS)
    digests: dict[str, str] = {}

    async def one(index: int, reference: str) -> None:
        where = layouts / str(index)
        if index == MULTI:
            layout = make_oci_index_layout(where, layers=LAYERS, layer_size=LAYER_SIZE, seed=2000 + index)
        else:
            layout = make_oci_layout(where, layers=LAYERS, layer_size=LAYER_SIZE, seed=2000 + index)
        digests[reference] = str(layout_manifest(layout)["digest"])
        async with limit:
            await push(layout, registry, reference, all_platforms=index == MULTI)

    await asyncio.gather(*(one(i, ref) for i, ref in enumerate(references())))
    return {ref: digests[ref] for ref in references()}


async def empty(registry: Registry) -> None:
    """The purge: every object of the bucket deleted, and the registry restarted (its blob cache gone)."""
    client = registry.s3.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=registry.bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=registry.bucket, Delete={"Objects": keys, "Quiet": True})
    await registry.restart()


async def all_pull(target: RegistryTarget, digests: dict[str, str]) -> None:
    images = [f"{ref.rsplit(':', 1)[0]}@{digest}" for ref, digest in digests.items()] + list(digests)
    broken = [r for r in await check_pulls(target, images, concurrency=CONCURRENCY) if not r.pullable]
    assert not broken, broken[:3]


def _skopeo_flags(registry: Registry, side: str, index: int) -> list[str]:
    return [
        *(["--all"] if index == MULTI else []),
        f"--{side}-tls-verify=false",
        f"--{side}-creds",
        f"{registry.username}:{registry.password}",
    ]


PHASES: dict[str, list[float]] = {}
"""Seconds of each side's export and push, per run."""


def phase(name: str, seconds: float) -> float:
    PHASES.setdefault(name, []).append(seconds)
    return seconds


async def with_skopeo(registry: Registry, layout: Path) -> float:
    started = time.perf_counter()
    for index, ref in enumerate(references()):
        await skopeo(
            "copy",
            *_skopeo_flags(registry, "src", index),
            f"docker://{registry.address}/{ref}",
            f"oci:{layout}:{ref}",
        )
    spent = phase("skopeo export", time.perf_counter() - started)
    await empty(registry)
    started = time.perf_counter()
    for index, ref in enumerate(references()):
        await skopeo(
            "copy", *_skopeo_flags(registry, "dest", index), "--preserve-digests",
            f"oci:{layout}:{ref}", f"docker://{registry.address}/{ref}",
        )  # fmt: skip
    spent += phase("skopeo push", time.perf_counter() - started)
    shutil.rmtree(layout)
    return spent


async def with_regclean(
    registry: Registry, target: RegistryTarget, layout: Path, digests: dict[str, str]
) -> float:
    store = LocalExportStore(layout)
    started = time.perf_counter()
    exported = await export_images(target, references(), store, concurrency=CONCURRENCY)
    spent = phase("regclean export", time.perf_counter() - started)
    assert all(o.ok for o in exported), [o.problem for o in exported if not o.ok][:3]
    assert {o.tag: o.image.digest for o in exported if o.image is not None} == digests
    await empty(registry)
    started = time.perf_counter()
    pushed = await push_images(target, store, digests, concurrency=CONCURRENCY)
    spent += phase("regclean push", time.perf_counter() - started)
    assert all(o.ok for o in pushed), [o.problem for o in pushed if not o.ok][:3]
    shutil.rmtree(layout)
    return spent


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="regclean-bench-export-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        s3 = S3Server(work / "s3")
        await s3.start()
        registry = Registry(s3, work / "registry")
        try:
            await registry.start()
            started = time.perf_counter()
            digests = await seed(registry, work / "layouts")
            total = sum(f.stat().st_size for f in (work / "layouts").glob("*/blobs/sha256/*"))
            print(
                f"pushed {IMAGES} images ({REPOS} repositories, {LAYERS} layers + config each, one of them "
                f"a two-platform index; {total / 2**20:.1f} MiB of blobs and manifests) in "
                f"{time.perf_counter() - started:.1f} s"
            )
            target = RegistryTarget(registry.address, registry.username, registry.password, plain_http=True)
            times: dict[str, list[float]] = {"skopeo": [], "regclean": []}
            for run in range(RUNS):
                times["skopeo"].append(await with_skopeo(registry, work / f"skopeo-{run}"))
                await all_pull(target, digests)
                times["regclean"].append(
                    await with_regclean(registry, target, work / f"regclean-{run}", digests)
                )
                await all_pull(target, digests)
        finally:
            await registry.stop()
            await s3.stop()
    for name, values in times.items():
        print(f"{name}: {', '.join(f'{v:.2f}' for v in values)} s (median {statistics.median(values):.2f} s)")
    print("phases (median s): " + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in PHASES.items()))
    print(f"concurrency={CONCURRENCY}")
    print(f"median_ratio={statistics.median(times['regclean']) / statistics.median(times['skopeo']):.3f}")
    print(f"skopeo_s={min(times['skopeo']):.2f}")
    print(f"regclean_s={min(times['regclean']):.2f}")
    print(f"ratio={min(times['regclean']) / min(times['skopeo']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
