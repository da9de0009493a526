"""One backup against a real OpenSSH sshd, the server real control-plane nodes run."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from actions.backup import BackupRequest, NodeProgress, NodeSpec, back_up
from actions.ssh import SshTarget
from sandbox.nodes import OpenSshServer, generate_keys, populate_minio, tree_stats, write_known_hosts

pytestmark = pytest.mark.e2e
ADDRESS = "127.0.0.14"


async def quiet(_: NodeProgress) -> None:
    return None


@pytest.mark.skipif(OpenSshServer.available() is not None, reason=str(OpenSshServer.available()))
async def test_a_verified_backup_over_a_real_openssh_server(tmp_path: Path) -> None:
    keys = generate_keys(tmp_path / "keys", [ADDRESS])
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(keys.client_public.read_text())
    minio = tmp_path / "node" / "cpaas" / "minio"
    backup = tmp_path / "node" / "cpaas" / "backup"
    stats = populate_minio(minio, small_files=200, large_files=1, large_size=2**20)
    server = OpenSshServer(ADDRESS, tmp_path / "sshd", keys.host_keys[ADDRESS], authorized)
    await server.start()
    try:
        write_known_hosts(keys.known_hosts, [(ADDRESS, server.port, keys.host_keys[ADDRESS])])
        target = SshTarget(ADDRESS, server.port, "root", keys.client_key, keys.known_hosts, connect_timeout=5)
        result = await back_up(
            BackupRequest(
                nodes=(NodeSpec("real-sshd", target, str(minio), str(backup)),), copy_dir=tmp_path / "copy"
            ),
            quiet,
        )
    finally:
        await server.stop()
    [node] = result.nodes
    assert node.verified, node.problem
    archive = backup / f"{ADDRESS}-minio.tar"
    assert node.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert node.entries == tree_stats(minio).entries == stats.entries
    assert node.copy is not None and hashlib.sha256(Path(node.copy).read_bytes()).hexdigest() == node.sha256
    listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True)
    assert len(listing.stdout.splitlines()) == stats.entries


@pytest.mark.skipif(OpenSshServer.available() is not None, reason=str(OpenSshServer.available()))
async def test_a_real_sshd_with_an_unknown_host_key_is_refused(tmp_path: Path) -> None:
    keys = generate_keys(tmp_path / "keys", [ADDRESS])
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(keys.client_public.read_text())
    server = OpenSshServer(ADDRESS, tmp_path / "sshd", keys.host_keys[ADDRESS], authorized)
    await server.start()
    try:
        keys.known_hosts.write_text("")
        target = SshTarget(ADDRESS, server.port, "root", keys.client_key, keys.known_hosts, connect_timeout=5)
        spec = NodeSpec("real-sshd", target, str(tmp_path / "minio"), str(tmp_path / "backup"))
        result = await back_up(BackupRequest(nodes=(spec,)), quiet)
    finally:
        await server.stop()
    [node] = result.nodes
    assert not node.verified
    assert "not in" in (node.problem or "") and "SHA256:" in (node.problem or "")
