"""Custom images survive the purge: exported from Debian's docker-registry into an OCI layout, read
back, pushed into an emptied registry, and pulled with identical digests; skopeo reads the layout.

The registries are shared per module (one source, one target emptied before each push), and
every test that changes the export works on its own copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from actions.errors import ExportSpaceShort
from actions.image_export import (
    ImageOutcome,
    LocalExportStore,
    export_images,
    push_images,
    verify_export,
)
from actions.oci import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from actions.oci_layout import REF_NAME
from actions.pull_check import check_pulls
from actions.registry import RegistryTarget
from actions.registry_http import RetryPolicy
from sandbox.registry import Registry, S3Server, SkopeoError, layout_blobs, make_oci_layout, push, skopeo
from sandbox.registry.images import make_oci_index_layout
from sandbox.registry.proxy import Proxy
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session"), *NEEDS_REGISTRY_AND_SKOPEO]

MULTI = "retail/multi:v1"  # an OCI index of two platforms
SINGLE = "retail/order-service:1.0"  # an OCI image manifest
ALIAS = "retail/order-service:stable"  # the same image again: its blobs are stored once
DOCKER = "legacy/billing:2.3"  # Docker v2 schema 2, skopeo's --format v2s2
DOCKER_MULTI = "legacy/gateway:4"  # a Docker manifest list
TAGS = (MULTI, SINGLE, ALIAS, DOCKER, DOCKER_MULTI)


@dataclass
class Source:
    registry: Registry
    layouts: dict[str, Path]


@dataclass
class Export:
    root: Path
    outcomes: list[ImageOutcome]

    @property
    def digests(self) -> dict[str, str]:
        return {o.tag: o.image.digest for o in self.outcomes if o.image is not None}

    def copy(self, where: Path) -> LocalExportStore:
        shutil.copytree(self.root, where)
        return LocalExportStore(where)


def target(registry: Registry, address: str | None = None) -> RegistryTarget:
    return RegistryTarget(address or registry.address, registry.username, registry.password, plain_http=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def source(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Source]:
    """The registry the images are exported from, seeded once with skopeo."""
    work = tmp_path_factory.mktemp("export-source")
    registry = Registry(s3_server, work / "registry", bucket="export-source")
    await registry.start()
    layouts = {
        MULTI: make_oci_index_layout(work / "multi", seed=41),
        SINGLE: make_oci_layout(work / "single", layers=3, seed=42),
        DOCKER: make_oci_layout(work / "docker", layers=2, seed=43),
        DOCKER_MULTI: make_oci_index_layout(work / "docker-multi", seed=44),
    }
    layouts[ALIAS] = layouts[SINGLE]
    for tag, layout in layouts.items():
        if tag.startswith("legacy/"):
            await skopeo(
                "copy", "--all", "--format", "v2s2", "--dest-tls-verify=false",
                "--dest-creds", f"{registry.username}:{registry.password}",
                f"oci:{layout}", f"docker://{registry.address}/{tag}",
            )  # fmt: skip
        else:
            await push(layout, registry, tag, all_platforms=True)
    yield Source(registry, layouts)
    await registry.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fresh(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Registry]:
    """The registry pushed back into, its storage emptied by `empty()` before each push."""
    registry = Registry(
        s3_server, tmp_path_factory.mktemp("export-target") / "registry", bucket="export-target"
    )
    await registry.start()
    yield registry
    await registry.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def exported(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Export:
    root = tmp_path_factory.mktemp("export") / "images"
    outcomes = await export_images(target(source.registry), TAGS, LocalExportStore(root))
    return Export(root, outcomes)


async def empty(registry: Registry) -> None:
    """The purge: every object of the registry's bucket deleted, and its blob cache restarted away."""
    client = registry.s3.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=registry.bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=registry.bucket, Key=item["Key"])
    assert client.list_objects_v2(Bucket=registry.bucket).get("KeyCount") == 0
    await registry.restart()


async def served_digest(registry: Registry, tag: str) -> str:
    """The digest of the bytes the registry serves for tag (what a client hashes)."""
    repository, reference = tag.rsplit(":", 1)
    accept = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
    async with (
        aiohttp.ClientSession(headers=registry.auth_headers()) as session,
        session.get(
            f"{registry.url}/v2/{repository}/manifests/{reference}", headers={"Accept": accept}
        ) as got,
    ):
        assert got.status == 200, tag
        return "sha256:" + hashlib.sha256(await got.read()).hexdigest()


def referenced(root: Path) -> set[str]:
    """Every digest index.json reaches: manifests, platform manifests, configs and layers."""

    def read(digest: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(blob_file(root, digest).read_bytes())
        return doc

    found: set[str] = set()
    todo = [m["digest"] for m in json.loads((root / "index.json").read_text())["manifests"]]
    while todo:
        digest = todo.pop()
        found.add(digest)
        doc = read(digest)
        todo += [m["digest"] for m in doc.get("manifests", [])]
        found |= {
            b["digest"] for b in [*([doc["config"]] if "config" in doc else []), *doc.get("layers", [])]
        }
    return found


def blob_file(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / digest.removeprefix("sha256:")


async def test_every_tag_lands_in_one_oci_layout_named_by_ref_name_with_shared_blobs_once(
    source: Source, exported: Export
) -> None:
    assert [(o.tag, o.ok, o.problem) for o in exported.outcomes] == [(t, True, None) for t in TAGS]
    root = exported.root
    assert json.loads((root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((root / "index.json").read_text())
    entries = {m["annotations"][REF_NAME]: m for m in index["manifests"]}
    assert sorted(entries) == sorted(TAGS)
    for tag in TAGS:
        assert entries[tag]["digest"] == exported.digests[tag] == await served_digest(source.registry, tag)
    by_tag = {o.tag: o.image for o in exported.outcomes if o.image is not None}
    assert (by_tag[MULTI].media_type, by_tag[MULTI].manifests, by_tag[MULTI].blobs) == (OCI_INDEX, 2, 6)
    assert (by_tag[DOCKER_MULTI].media_type, by_tag[DOCKER_MULTI].manifests) == (DOCKER_LIST, 2)
    assert (by_tag[DOCKER].media_type, by_tag[DOCKER].blobs) == (DOCKER_MANIFEST, 3)
    assert by_tag[SINGLE] == replace(by_tag[ALIAS], tag=SINGLE)
    # every manifest and blob once, nothing else: SINGLE and ALIAS share all of theirs
    files = {p.name: p.stat().st_size for p in (root / "blobs" / "sha256").iterdir()}
    assert {f"sha256:{name}" for name in files} == referenced(root)
    assert sum(files.values()) == sum(by_tag[t].bytes for t in (MULTI, SINGLE, DOCKER, DOCKER_MULTI))
    assert {stat.S_IMODE(p.stat().st_mode) for p in (root / "blobs" / "sha256").iterdir()} == {0o600}
    for directory in (root, root / "blobs", root / "blobs" / "sha256"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


async def test_skopeo_reads_the_layout_by_ref_name(exported: Export, fresh: Registry) -> None:
    for tag in (SINGLE, MULTI):
        raw = await skopeo("inspect", "--raw", f"oci:{exported.root}:{tag}")
        assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == exported.digests[tag]
    await skopeo(
        "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
        "--dest-creds", f"{fresh.username}:{fresh.password}",
        f"oci:{exported.root}:{MULTI}", f"docker://{fresh.address}/retail/multi:by-skopeo",
    )  # fmt: skip
    assert await served_digest(fresh, "retail/multi:by-skopeo") == exported.digests[MULTI]
    # skopeo 1.9's oci: transport takes only OCI media types from index.json (containers/image
    # skips other entries); a Docker image is exported byte for byte all the same, and pushed by regclean
    with pytest.raises(SkopeoError, match="no descriptor found"):
        await skopeo("inspect", "--raw", f"oci:{exported.root}:{DOCKER}")


async def test_pushed_back_into_an_emptied_registry_every_image_pulls_with_its_digest(
    exported: Export, fresh: Registry
) -> None:
    verified = await verify_export(LocalExportStore(exported.root), exported.digests)
    assert [(o.ok, o.image) for o in verified] == [(True, o.image) for o in exported.outcomes]
    await empty(fresh)
    seen: list[str] = []

    async def record(outcome: ImageOutcome) -> None:
        seen.append(outcome.tag)

    pushed = await push_images(
        target(fresh), LocalExportStore(exported.root), exported.digests, on_result=record
    )
    assert [(o.tag, o.ok, o.problem) for o in pushed] == [(t, True, None) for t in TAGS]
    assert sorted(seen) == sorted(TAGS)
    by_digest = [f"{t.rsplit(':', 1)[0]}@{d}" for t, d in exported.digests.items()]
    results = await check_pulls(target(fresh), [*TAGS, *by_digest], concurrency=4)
    assert [(r.image, r.problem) for r in results if not r.pullable] == []
    for tag in TAGS:
        assert await served_digest(fresh, tag) == exported.digests[tag]
    assert {r.image: r.manifests for r in results}[MULTI] == 2


async def test_a_second_export_hashes_what_is_there_and_fetches_only_what_changed(
    source: Source, exported: Export, tmp_path: Path
) -> None:
    store = exported.copy(tmp_path / "again")
    single = next(o.image for o in exported.outcomes if o.tag == SINGLE)
    assert single is not None
    layer = layout_blobs(source.layouts[SINGLE])[1]
    path = blob_file(store.root, layer)
    path.write_bytes(b"\0" * path.stat().st_size)  # same size, other bytes: only a hash can tell
    proxy = Proxy(source.registry.url)
    await proxy.start()
    try:
        again = await export_images(target(source.registry, proxy.address), TAGS, store)
    finally:
        await proxy.stop()
    assert [o.ok for o in again] == [True] * len(TAGS)
    fetched = [s.path.rsplit("/", 1)[1] for s in proxy.seen if s.method == "GET" and "/blobs/" in s.path]
    assert fetched == [layer]
    assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == layer
    assert all(o.ok for o in await verify_export(store, exported.digests))


async def test_a_blob_changed_on_disk_is_named_with_its_tags_and_never_pushed(
    source: Source, exported: Export, fresh: Registry, tmp_path: Path
) -> None:
    store = exported.copy(tmp_path / "corrupt")
    layer = layout_blobs(source.layouts[SINGLE])[2]
    path = blob_file(store.root, layer)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    changed = "sha256:" + hashlib.sha256(data).hexdigest()
    verified = {o.tag: o for o in await verify_export(store, exported.digests)}
    problem = f"blob {layer} changed on disk (it hashes to {changed}); used by {SINGLE}, {ALIAS}"
    assert (verified[SINGLE].ok, verified[SINGLE].problem) == (False, problem)
    assert verified[ALIAS].problem == problem
    assert all(verified[t].ok for t in (MULTI, DOCKER, DOCKER_MULTI))

    await empty(fresh)
    pushed = {o.tag: o for o in await push_images(target(fresh), store, exported.digests)}
    assert pushed[SINGLE].problem == f"not pushed: {problem}"
    assert pushed[MULTI].ok and pushed[DOCKER].ok
    results = await check_pulls(target(fresh), [SINGLE, ALIAS, MULTI], concurrency=2)
    assert [r.problem for r in results] == [f"no manifest: {SINGLE}", f"no manifest: {ALIAS}", None]


class VanishingStore(LocalExportStore):
    """A local store whose one blob is deleted after the push checked it, before its upload reads it."""

    def __init__(self, root: Path, digest: str) -> None:
        super().__init__(root)
        self.path, self.reads = f"blobs/sha256/{digest.removeprefix('sha256:')}", 0

    async def chunks(self, path: str) -> AsyncGenerator[bytes, None]:
        if path == self.path:
            self.reads += 1
            if self.reads == 2:
                (self.root / path).unlink()
        async for chunk in super().chunks(path):
            yield chunk


async def test_a_blob_gone_between_the_check_and_the_upload_is_that_images_problem(
    source: Source, exported: Export, fresh: Registry, tmp_path: Path
) -> None:
    await empty(fresh)
    layer = layout_blobs(source.layouts[SINGLE])[0]
    store = VanishingStore(exported.copy(tmp_path / "vanishing").root, layer)
    expected = {SINGLE: exported.digests[SINGLE], MULTI: exported.digests[MULTI]}
    single, multi = await push_images(target(fresh), store, expected, concurrency=1)
    problem = f"not pushed: blob {layer} could not be read from the export (No such file or directory)"
    assert (single.ok, single.problem) == (False, problem)
    assert (multi.ok, multi.problem) == (True, None)


async def test_a_wrong_digest_or_a_tag_not_exported_is_that_images_problem(exported: Export) -> None:
    expected = {MULTI: exported.digests[SINGLE], "retail/absent:1": exported.digests[SINGLE]}
    outcomes = await verify_export(LocalExportStore(exported.root), expected)
    assert [o.problem for o in outcomes] == [
        f"the export holds {MULTI} as {exported.digests[MULTI]}, not {exported.digests[SINGLE]}",
        f"retail/absent:1 is not in the export ({exported.root}/index.json has no such ref.name)",
    ]


class TightStore(LocalExportStore):
    """A local store whose filesystem has only `free` bytes left (a full disk, without filling one)."""

    def __init__(self, root: Path, free: int) -> None:
        super().__init__(root)
        self.free = free

    async def free_bytes(self) -> int:
        return self.free


async def test_too_little_space_is_refused_before_anything_is_written(
    source: Source, exported: Export, tmp_path: Path
) -> None:
    needed = sum(o.image.bytes for o in exported.outcomes if o.image is not None and o.tag != ALIAS)
    store = TightStore(tmp_path / "tight" / "images", free=needed // 2)
    with pytest.raises(ExportSpaceShort) as refused:
        await export_images(target(source.registry), TAGS, store)
    message = str(refused.value)
    assert f"but only {needed // 2} bytes" in message and "REGCLEAN_EXPORT_DIR" in message
    short = int(message.split(" needs ", 1)[1].split(" bytes", 1)[0])
    assert short >= needed
    assert not (tmp_path / "tight").exists()
    # a store that holds most already needs only the rest
    partial = exported.copy(tmp_path / "partial")
    os.unlink(blob_file(partial.root, layout_blobs(source.layouts[MULTI])[0]))
    tight = TightStore(partial.root, free=needed // 2)
    assert [o.ok for o in await export_images(target(source.registry), TAGS, tight)] == [True] * len(TAGS)


async def test_absent_and_unnameable_tags_are_problems_of_their_own(source: Source, tmp_path: Path) -> None:
    store = LocalExportStore(tmp_path / "images")
    tags = ["retail/none:1", "retail/x:_odd", SINGLE]
    outcomes = await export_images(target(source.registry), tags, store)
    assert [o.problem for o in outcomes[:2]] == [
        "no manifest: retail/none:1",
        "retail/x:_odd cannot be named in an OCI layout (its ref.name grammar): export it under "
        "another tag, or waive it",
    ]
    assert outcomes[2].ok
    index = json.loads((store.root / "index.json").read_text())
    assert [m["annotations"][REF_NAME] for m in index["manifests"]] == [SINGLE]


async def test_a_put_answered_503_is_sent_again_whole(exported: Export, fresh: Registry) -> None:
    await empty(fresh)
    proxy = Proxy(fresh.url)
    await proxy.start()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    try:
        proxy.busy(2, status=503, retry_after="1", method="PUT")
        expected = {SINGLE: exported.digests[SINGLE]}
        [pushed] = await push_images(
            target(fresh, proxy.address), LocalExportStore(exported.root), expected, concurrency=1,
            retry=RetryPolicy(sleep=sleep),
        )  # fmt: skip
    finally:
        await proxy.stop()
    assert (pushed.ok, pushed.problem) == (True, None)
    assert waits == [1.0, 1.0] and proxy.answered_busy == 2
    puts = [s for s in proxy.seen if s.method == "PUT"]
    # the first blob's PUT twice refused, then the whole body again: the registry checks its digest
    assert puts[0].path == puts[1].path == puts[2].path and "/blobs/uploads/" in puts[2].path
    [result] = await check_pulls(target(fresh), [SINGLE], concurrency=1)
    assert result.pullable, result.problem


async def test_a_bearer_token_registry_is_exported_from_and_pushed_to(
    s3_server: S3Server, exported: Export, tmp_path: Path
) -> None:
    registry = Registry(s3_server, tmp_path / "token", bucket="export-token", auth="token")
    await registry.start()
    try:
        assert registry.token_server is not None
        expected = {SINGLE: exported.digests[SINGLE], MULTI: exported.digests[MULTI]}
        pushed = await push_images(target(registry), LocalExportStore(exported.root), expected)
        assert [(o.ok, o.problem) for o in pushed] == [(True, None)] * 2
        store = LocalExportStore(tmp_path / "images")
        again = await export_images(target(registry), list(expected), store)
        assert {o.tag: o.image.digest for o in again if o.image is not None} == expected
        pushes = {s.rsplit(":", 1)[0] for s in registry.token_server.scopes if "push" in s.rsplit(":", 1)[1]}
        assert pushes == {"repository:retail/order-service", "repository:retail/multi"}
    finally:
        await registry.stop()
