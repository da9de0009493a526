"""Backups against a real OpenSSH sshd, the server real control-plane nodes run: a still MinIO and a
live one (its scanner rewriting its caches, and an object changing under tar)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from actions.backup import BackupRequest, NodeBackup, NodeProgress, NodeSpec, back_up
from actions.ssh import SshTarget
from sandbox.nodes import (
    STAGING,
    MinioScanner,
    OpenSshServer,
    gate_missing,
    generate_keys,
    populate_minio,
    tree_stats,
    write_known_hosts,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(OpenSshServer.available() is not None, reason=str(OpenSshServer.available())),
]
ADDRESS = "127.0.0.14"
live = pytest.mark.skipif(gate_missing() is not None, reason=str(gate_missing()))


async def quiet(_: NodeProgress) -> None:
    return None


@dataclass
class RealNode:
    """A node served by a real sshd, its MinIO drive, and MinIO's writers on it (off until started)."""

    target: SshTarget
    minio: Path
    backup: Path
    scanner: MinioScanner

    async def back_up(self, copy_dir: Path | None = None) -> NodeBackup:
        spec = NodeSpec("real-sshd", self.target, str(self.minio), str(self.backup))
        [node] = (await back_up(BackupRequest(nodes=(spec,), copy_dir=copy_dir), quiet)).nodes
        return node


@pytest.fixture
async def real_node(tmp_path: Path) -> AsyncIterator[RealNode]:
    keys = generate_keys(tmp_path / "keys", [ADDRESS])
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(keys.client_public.read_text())
    minio = tmp_path / "node" / "cpaas" / "minio"
    backup = tmp_path / "node" / "cpaas" / "backup"
    backup.mkdir(parents=True)
    populate_minio(minio, small_files=200, large_files=1, large_size=2**20)
    server = OpenSshServer(ADDRESS, tmp_path / "sshd", keys.host_keys[ADDRESS], authorized)
    await server.start()
    scanner = MinioScanner(minio, backup)
    try:
        write_known_hosts(keys.known_hosts, [(ADDRESS, server.port, keys.host_keys[ADDRESS])])
        target = SshTarget(ADDRESS, server.port, "root", keys.client_key, keys.known_hosts, connect_timeout=5)
        yield RealNode(target, minio, backup, scanner)
    finally:
        scanner.stop()
        await server.stop()


async def test_a_verified_backup_over_a_real_openssh_server(real_node: RealNode, tmp_path: Path) -> None:
    node = await real_node.back_up(copy_dir=tmp_path / "copy")
    assert node.verified, node.problem
    archive = real_node.backup / f"{ADDRESS}-minio.tar"
    assert node.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    stats = tree_stats(real_node.minio, leave_out=STAGING)
    assert node.entries == stats.entries and node.tolerated == ()
    assert node.copy is not None and hashlib.sha256(Path(node.copy).read_bytes()).hexdigest() == node.sha256
    listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True)
    assert len(listing.stdout.splitlines()) == stats.entries


@live
async def test_a_live_minio_over_a_real_openssh_server_is_valid_and_lists_its_bookkeeping(
    real_node: RealNode,
) -> None:
    real_node.scanner.start()
    node = await real_node.back_up()
    assert node.verified, node.problem
    assert real_node.scanner.saves_during_backup > 0
    assert node.attempts == 1 and node.tolerated
    assert all(t.startswith(".minio.sys/buckets/") for t in node.tolerated)


@live
async def test_an_object_changing_once_over_a_real_openssh_server_gets_a_second_run(
    real_node: RealNode,
) -> None:
    real_node.scanner.start()
    changed = real_node.scanner.change_objects(times=1)
    node = await real_node.back_up()
    assert node.verified, node.problem
    assert node.attempts == 2 and any(changed in line for line in node.first_attempt)


@live
async def test_an_object_changing_every_time_over_a_real_openssh_server_is_refused(
    real_node: RealNode,
) -> None:
    real_node.scanner.start()
    changed = real_node.scanner.change_objects(times=None)
    node = await real_node.back_up()
    assert not node.verified and node.attempts == 2
    assert node.problem is not None and changed in node.problem
    assert not (real_node.backup / f"{ADDRESS}-minio.tar").exists()


async def test_a_real_sshd_with_an_unknown_host_key_is_refused(real_node: RealNode) -> None:
    real_node.target.known_hosts.write_text("")
    node = await real_node.back_up()
    assert not node.verified
    assert "not in" in (node.problem or "") and "SHA256:" in (node.problem or "")
