"""The export on a node's disk over SFTP, against a real OpenSSH sshd (internal-sftp): exported from
Debian's docker-registry, read back, refused when a blob changed, pushed into an emptied registry."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from actions.errors import HostKeyRejected
from actions.export_store import sftp_export_store
from actions.image_export import export_images, push_images, verify_export
from actions.pull_check import check_pulls
from actions.registry import RegistryTarget
from actions.ssh import SshTarget
from sandbox.nodes import OpenSshServer, generate_keys, write_known_hosts
from sandbox.registry import Registry, S3Server, make_oci_layout, push
from sandbox.registry.images import make_oci_index_layout
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(OpenSshServer.available() is not None, reason=str(OpenSshServer.available())),
    *NEEDS_REGISTRY_AND_SKOPEO,
]
ADDRESS = "127.0.0.16"
TAGS = ("retail/multi:v1", "retail/order-service:1.0")


@dataclass
class Node:
    target: SshTarget
    disk: Path
    """The node's directory that the export goes to (the sshd runs here, so the test can look)."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Node]:
    work = tmp_path_factory.mktemp("sftp-node")
    keys = generate_keys(work / "keys", [ADDRESS])
    authorized = work / "authorized_keys"
    authorized.write_text(keys.client_public.read_text())
    server = OpenSshServer(ADDRESS, work / "sshd", keys.host_keys[ADDRESS], authorized)
    await server.start()
    try:
        write_known_hosts(keys.known_hosts, [(ADDRESS, server.port, keys.host_keys[ADDRESS])])
        target = SshTarget(ADDRESS, server.port, "root", keys.client_key, keys.known_hosts, connect_timeout=5)
        yield Node(target, work / "disk")
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def source(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Registry]:
    work = tmp_path_factory.mktemp("sftp-source")
    registry = Registry(s3_server, work / "registry", bucket="sftp-source")
    await registry.start()
    await push(make_oci_index_layout(work / "multi", seed=51), registry, TAGS[0], all_platforms=True)
    await push(make_oci_layout(work / "single", layers=3, seed=52), registry, TAGS[1])
    yield registry
    await registry.stop()


def target(registry: Registry) -> RegistryTarget:
    return RegistryTarget(registry.address, registry.username, registry.password, plain_http=True)


async def test_an_export_over_sftp_is_verified_and_pushed_back_whole(
    node: Node, source: Registry, s3_server: S3Server, tmp_path: Path
) -> None:
    root = node.disk / "round-trip" / "images"
    async with sftp_export_store(node.target, str(root)) as store:
        assert store.where == f"{ADDRESS}:{root}"
        exported = await export_images(target(source), TAGS, store)
        assert [(o.ok, o.problem) for o in exported] == [(True, None)] * 2
        expected = {o.tag: o.image.digest for o in exported if o.image is not None}
        assert [o.ok for o in await verify_export(store, expected)] == [True, True]
    blobs = root / "blobs" / "sha256"
    assert {stat.S_IMODE(p.stat().st_mode) for p in blobs.iterdir()} == {0o600}
    assert [stat.S_IMODE(d.stat().st_mode) for d in (root, root / "blobs", blobs)] == [0o700] * 3
    assert not [p.name for p in blobs.iterdir() if p.name.startswith(".")]

    fresh = Registry(s3_server, tmp_path / "fresh", bucket="sftp-target")
    await fresh.start()
    try:
        async with sftp_export_store(node.target, str(root)) as store:
            pushed = await push_images(target(fresh), store, expected)
        assert [(o.ok, o.problem) for o in pushed] == [(True, None)] * 2
        by_digest = [f"{tag.rsplit(':', 1)[0]}@{digest}" for tag, digest in expected.items()]
        results = await check_pulls(target(fresh), [*TAGS, *by_digest], concurrency=4)
        assert [r.problem for r in results] == [None] * 4
    finally:
        await fresh.stop()


async def test_a_blob_changed_on_the_node_is_named_and_the_free_space_is_the_nodes(
    node: Node, source: Registry
) -> None:
    root = node.disk / "changed" / "images"
    async with sftp_export_store(node.target, str(root)) as store:
        # before the root exists: its nearest parent's filesystem, as statvfs says to a non-root user
        # (others write on this machine meanwhile: a margin far below root's reserved blocks)
        assert abs(await store.free_bytes() - _free(node.disk)) < 16 * 2**20
        exported = await export_images(target(source), TAGS[1:], store)
        expected = {o.tag: o.image.digest for o in exported if o.image is not None}
        blob = next(p for p in (root / "blobs" / "sha256").iterdir() if p.stat().st_size > 10_000)
        size = blob.stat().st_size
        blob.write_bytes(blob.read_bytes()[:-1])
        [short] = await verify_export(store, expected)
        blob.unlink()
        [gone] = await verify_export(store, expected)
    name = f"blob sha256:{blob.name}"
    assert short.problem == f"{name} has {size - 1} bytes on disk, not {size}; used by {TAGS[1]}"
    assert gone.problem == f"{name} is missing from the export; used by {TAGS[1]}"


async def test_an_unknown_host_key_is_refused_before_any_file_is_touched(node: Node, tmp_path: Path) -> None:
    stranger = tmp_path / "known_hosts"
    stranger.write_text("")
    other = SshTarget(ADDRESS, node.target.port, "root", node.target.key, stranger, connect_timeout=5)
    with pytest.raises(HostKeyRejected, match="not in"):
        async with sftp_export_store(other, str(node.disk / "never")):
            pass
    assert not (node.disk / "never").exists()


def _free(path: Path) -> int:
    while not path.exists():
        path = path.parent
    vfs = os.statvfs(path)
    return vfs.f_bavail * vfs.f_frsize
