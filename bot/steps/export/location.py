"""Where a run's custom images are exported (docs/architecture.md, "Custom images"):
`REGCLEAN_EXPORT_DIR`, a directory of regclean's host or `sftp://<node address>/path` on a node
regclean reaches over SSH, and in it `run-<id>/`, one OCI image layout per run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from actions.export_store import ExportStore, LocalExportStore, sftp_export_store
from actions.kube import KubeReader
from actions.nodes import control_plane_nodes
from bot.config.settings import ConfigError, Settings
from bot.config.values import SFTP_URL
from bot.steps.backup.plan import configured_nodes, ssh_target


@dataclass(frozen=True)
class ExportLocation:
    """A directory on regclean's host (`node` None) or on a node over SFTP."""

    path: str
    node: str | None = None
    port: int | None = None

    def of_run(self, run_id: int) -> ExportLocation:
        """The run's own layout in this directory."""
        return ExportLocation(f"{self.path.rstrip('/')}/run-{run_id}", self.node, self.port)

    def describe(self) -> str:
        """As messages and the plan name it: the path, or `sftp://node[:port]/path`."""
        if self.node is None:
            return self.path
        port = f":{self.port}" if self.port else ""
        return f"sftp://{self.node}{port}{self.path}"


def export_location(settings: Settings) -> ExportLocation:
    """REGCLEAN_EXPORT_DIR as a location; default `<REGCLEAN_DATA_DIR>/exports` (made absolute)."""
    value = settings.export_dir
    if value is None:
        return ExportLocation(str(Path(settings.data_dir).absolute() / "exports"))
    match = SFTP_URL.fullmatch(value)
    if match is None:
        return ExportLocation(value)
    port = match["port"]
    return ExportLocation(match["path"], match["host"].strip("[]"), int(port) if port else None)


@asynccontextmanager
async def open_export(
    settings: Settings, kube: Callable[[], KubeReader], location: ExportLocation
) -> AsyncIterator[ExportStore]:
    """The store of a location; a node must be one regclean reaches over SSH (its host key verified)."""
    if location.node is None:
        yield LocalExportStore(Path(location.path))
        return
    await _check_node(settings, kube, location.node)
    async with sftp_export_store(ssh_target(settings, location.node, location.port), location.path) as store:
        yield store


async def _check_node(settings: Settings, kube: Callable[[], KubeReader], node: str) -> None:
    known = {settings.installer_node} if settings.installer_node else set()
    if settings.nodes:
        known |= {n.address for n, _ in configured_nodes(settings)}
    else:
        client = kube()
        try:
            known |= {n.address for n in await control_plane_nodes(client, settings.expected_nodes)}
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()
    if node not in known:
        raise ConfigError(
            f"REGCLEAN_EXPORT_DIR names {node}, which is not a node regclean reaches over SSH "
            f"({', '.join(sorted(known)) or 'none known'}); name one of them, or a directory of this host."
        )
