"""What the push makes of a registry's answers that docker-registry does not give on its own: a
manifest stored under another digest, and distribution's error codes. A small aiohttp server on
port 0 stands in for the registry's manifest endpoint (the blobs it says it has)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from actions.export_store import LocalExportStore
from actions.image_export import push_images
from actions.oci import OCI_MANIFEST
from actions.oci_layout import IndexEntry, Layout, blob_path
from actions.registry import RegistryTarget


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def one_image(root: Path) -> tuple[LocalExportStore, str]:
    """app:1 in a layout: a config, a layer, and the manifest naming them."""
    store = LocalExportStore(root)
    await store.prepare()
    layout = Layout(store)
    blobs = [b'{"architecture":"amd64","os":"linux"}', b"layer bytes"]
    for data in blobs:
        await layout.write_file(blob_path(digest_of(data)), data)
    config, layer = ({"mediaType": "x", "digest": digest_of(d), "size": len(d)} for d in blobs)
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
    )
    body = manifest.encode()
    await layout.write_file(blob_path(digest_of(body)), body)
    await layout.write_index([IndexEntry("app:1", OCI_MANIFEST, digest_of(body), len(body))])
    return store, digest_of(body)


@asynccontextmanager
async def registry(answer: web.Response) -> AsyncIterator[tuple[str, list[str]]]:
    """Blobs exist (HEAD 200); a manifest PUT gets `answer`; the Content-Types PUT are listed."""
    types: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method == "HEAD":
            return web.Response(status=200)
        types.append(request.headers.get("Content-Type", ""))
        await request.read()
        return answer

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"127.0.0.1:{runner.addresses[0][1]}", types
    finally:
        await runner.cleanup()


async def test_a_manifest_stored_under_another_digest_fails_the_image(tmp_path: Path) -> None:
    store, digest = await one_image(tmp_path / "layout")
    other = "sha256:" + "0" * 64
    async with registry(web.Response(status=201, headers={"Docker-Content-Digest": other})) as (
        address,
        types,
    ):
        [outcome] = await push_images(RegistryTarget(address, plain_http=True), store, {"app:1": digest})
    assert types == [OCI_MANIFEST]
    assert outcome.problem == (
        f"registry error: The registry {address} stored the manifest {digest} of app:1 as {other}, "
        f"not as the exported {digest}."
    )


async def test_distributions_error_codes_are_named(tmp_path: Path) -> None:
    store, digest = await one_image(tmp_path / "layout")
    refusal = {"errors": [{"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry"}]}
    async with registry(web.json_response(refusal, status=400)) as (address, _):
        [outcome] = await push_images(RegistryTarget(address, plain_http=True), store, {"app:1": digest})
    assert outcome.problem == (
        f"registry error: The registry {address} answered 400 Bad Request for the push of the manifest "
        f"{digest} of app:1 (MANIFEST_BLOB_UNKNOWN: blob unknown to registry)."
    )
