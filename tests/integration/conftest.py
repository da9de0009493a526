"""Fixtures for the backup: the sandbox's three SSH nodes, each with a MinIO-like tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actions.backup import BackupRequest, NodeSpec
from actions.ssh import SshTarget
from sandbox.nodes import SandboxCluster, SandboxNode, populate_minio


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SandboxCluster]:
    """Three nodes on 127.0.0.11–13, started, each with a small MinIO tree of its own."""
    nodes = SandboxCluster(tmp_path / "nodes")
    for seed, node in enumerate(nodes.nodes.values(), start=1):
        populate_minio(node.minio_dir, small_files=300, large_files=2, large_size=2 * 2**20, seed=seed)
    await nodes.start()
    yield nodes
    await nodes.stop()


def target(cluster: SandboxCluster, node: SandboxNode, **overrides: object) -> SshTarget:
    """How the bot reaches one sandbox node."""
    values: dict[str, object] = {
        "address": node.address,
        "port": node.port,
        "user": "root",
        "key": cluster.keys.client_key,
        "known_hosts": cluster.keys.known_hosts,
        "connect_timeout": 5.0,
        "command_timeout": 120.0,
    }
    values.update(overrides)
    return SshTarget(**values)  # type: ignore[arg-type]


def request(cluster: SandboxCluster, **overrides: object) -> BackupRequest:
    """A backup of every sandbox node, into each node's own backup directory."""
    specs = tuple(
        NodeSpec(f"m{i}", target(cluster, node), str(node.minio_dir), str(node.backup_dir))
        for i, node in enumerate(cluster.nodes.values(), start=1)
    )
    return BackupRequest(nodes=specs, **overrides)  # type: ignore[arg-type]
