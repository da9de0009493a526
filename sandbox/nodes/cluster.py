"""The three control-plane nodes of the sandbox's global cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from .keys import NodeKeys, generate_keys, write_known_hosts
from .server import SandboxNode

DEFAULT_ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


class SandboxCluster:
    """The three control-plane nodes of the sandbox on 127.0.0.11, .12, .13.

    Layout under `workdir`: `keys/` (client key, host keys, known_hosts) and `nodes/ADDRESS/`,
    each node's root, standing in for its `/` (so its MinIO data lives in `nodes/ADDRESS/cpaas/minio`).
    """

    def __init__(self, workdir: Path, addresses: Sequence[str] = DEFAULT_ADDRESSES) -> None:
        self.workdir = workdir
        self.keys: NodeKeys = generate_keys(workdir / "keys", addresses)
        self.nodes: dict[str, SandboxNode] = {
            address: SandboxNode(
                address,
                workdir / "nodes" / address,
                self.keys.host_keys[address],
                self.keys.client_public,
            )
            for address in addresses
        }

    async def start(self) -> None:
        """Start every node, then write `keys.known_hosts` with their real ports."""
        await asyncio.gather(*(node.start() for node in self.nodes.values()))
        write_known_hosts(
            self.keys.known_hosts,
            ((n.address, n.port, self.keys.host_keys[n.address]) for n in self.nodes.values()),
        )

    async def stop(self) -> None:
        """Stop every node."""
        await asyncio.gather(*(node.stop() for node in self.nodes.values()))
