"""Which nodes to back up and how: settings, per-node overrides, or discovery in the cluster."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

from actions.backup import BackupRequest, NodeSpec
from actions.errors import NodesMismatch
from actions.kube import KubeReader
from actions.nodes import ControlPlaneNode, control_plane_nodes
from actions.ssh import SshTarget
from bot.config.settings import ConfigError, Settings

BackupPlanner = Callable[[], Awaitable[BackupRequest]]


def backup_planner(settings: Settings, kube: Callable[[], KubeReader]) -> BackupPlanner:
    """A planner that reads the settings each time a backup starts (discovering nodes if none are set)."""

    async def plan() -> BackupRequest:
        settings.require("ssh_key", "ssh_known_hosts", "backup_dir")
        assert settings.ssh_key and settings.ssh_known_hosts and settings.backup_dir
        nodes = configured_nodes(settings) if settings.nodes else await _discover(settings, kube)
        return BackupRequest(
            nodes=tuple(_spec(settings, node, port) for node, port in nodes),
            margin_percent=settings.backup_margin_percent,
            copy_dir=Path(settings.backup_copy_dir) if settings.backup_copy_dir else None,
        )

    return plan


def configured_nodes(settings: Settings) -> list[tuple[ControlPlaneNode, int | None]]:
    """REGCLEAN_NODES: `address` or `address:port` entries, checked against the expected count."""
    nodes = []
    for entry in settings.nodes:
        address, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if port and not port.isdigit():
            raise ConfigError(f"REGCLEAN_NODES: '{entry}' is not an address or address:port.")
        nodes.append((ControlPlaneNode(address, address), int(port) if port else None))
    if len(nodes) != settings.expected_nodes:
        raise NodesMismatch(
            f"REGCLEAN_NODES lists {len(nodes)} nodes ({', '.join(settings.nodes)}); "
            f"{settings.expected_nodes} are expected (REGCLEAN_EXPECTED_NODES)."
        )
    return nodes


async def _discover(
    settings: Settings, kube: Callable[[], KubeReader]
) -> list[tuple[ControlPlaneNode, int | None]]:
    client = kube()
    try:
        return [(node, None) for node in await control_plane_nodes(client, settings.expected_nodes)]
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


def _spec(settings: Settings, node: ControlPlaneNode, port: int | None) -> NodeSpec:
    override = settings.node_overrides.get(node.address)
    minio_dir = (override and override.minio_dir) or settings.minio_dir
    backup_dir = (override and override.backup_dir) or settings.backup_dir
    assert backup_dir and settings.ssh_key and settings.ssh_known_hosts
    if PurePosixPath(backup_dir).is_relative_to(minio_dir):
        raise ConfigError(
            f"The backup directory {backup_dir} is inside the MinIO directory {minio_dir} of {node.address}: "
            "the archive would back up itself. Choose another REGCLEAN_BACKUP_DIR."
        )
    return NodeSpec(node.name, ssh_target(settings, node.address, port), minio_dir, backup_dir)


def ssh_target(settings: Settings, address: str, port: int | None = None) -> SshTarget:
    """How to reach a node: the SSH settings, with that node's overrides."""
    settings.require("ssh_key", "ssh_known_hosts")
    assert settings.ssh_key and settings.ssh_known_hosts
    override = settings.node_overrides.get(address)
    return SshTarget(
        address=address,
        port=(override and override.port) or port or settings.ssh_port,
        user=(override and override.user) or settings.ssh_user,
        key=Path(settings.ssh_key),
        known_hosts=Path(settings.ssh_known_hosts),
        connect_timeout=settings.ssh_connect_timeout,
        command_timeout=settings.ssh_command_timeout,
    )


async def installer_target(settings: Settings, kube: Callable[[], KubeReader]) -> SshTarget:
    """The node holding the installer: REGCLEAN_INSTALLER_NODE, or the first control-plane node."""
    if settings.installer_node:
        return ssh_target(settings, settings.installer_node)
    nodes = configured_nodes(settings) if settings.nodes else await _discover(settings, kube)
    node, port = nodes[0]
    return ssh_target(settings, node.address, port)
