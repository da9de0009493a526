"""The preflight: read what the gates need, and judge the gates from the store (docs/architecture.md,
"Gates and the plan").

Reading (`gather`) talks to the installer node, the registry and the cluster. Judging
(`judge`) only looks at what the run stored, so the purge can re-check the very same gates
the moment it starts, and the approval's plan (`bot.steps.approval.plan.plan_of`) is built from the
same facts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from actions.backup import NodeBackup
from actions.kube import KubeReader
from actions.packages import coverage, custom_tags
from actions.plugin_dir import read_plugin_dir
from actions.registry import RegistryClient, RegistryTarget
from actions.registry_cache import CacheClearing
from actions.ssh import SshTarget
from actions.workloads import workload_images
from bot.config.settings import Settings
from bot.core.model import SnapshotView
from bot.steps.export.model import CustomImages
from bot.steps.preflight.gates import (
    Gate,
    backup_gate,
    inventory_gate,
    package_gate,
    registry_gate,
    verification_gate,
)
from bot.steps.preflight.model import PreflightRecord, PreflightReport


@dataclass(frozen=True)
class Sources:
    """Where the preflight reads from."""

    installer: SshTarget
    plugin_dir: str
    registry: RegistryTarget


async def gather(
    sources: Sources,
    kube: Callable[[], KubeReader],
    requester: str,
    *,
    recorded_at: datetime,
    page_size: int,
    namespaces: Sequence[str],
    registry_cache: Callable[[], Awaitable[CacheClearing]] | None = None,
) -> PreflightRecord:
    """Read the packages as violet shows and verifies them, record the registry (and, with
    `registry_cache`, how its blob cache will be cleared), and collect the workloads' images with
    who uses them (id 0: not stored yet)."""
    plugins = await read_plugin_dir(sources.installer, sources.plugin_dir)
    clearing = None if registry_cache is None else await registry_cache()
    async with RegistryClient(sources.registry) as client:
        registry = await client.record()
    reader = kube()
    try:
        images = await workload_images(reader, sources.registry.address, page_size=page_size)
    finally:
        close = getattr(reader, "close", None)
        if callable(close):
            close()
    custom = custom_tags(registry.repositories, plugins.shown, namespaces)
    prefix = sources.registry.address.rstrip("/") + "/"
    return PreflightRecord(
        id=0,
        run_id=0,
        recorded_at=recorded_at,
        recorded_by=requester,
        installer_node=sources.installer.address,
        plugin_dir=sources.plugin_dir,
        packages=plugins.files,
        registry=sources.registry.address,
        repositories=dict(registry.repositories),
        custom=custom,
        workload_images=tuple(images),
        shown=plugins.shown,
        verification=plugins.verification,
        custom_workloads={tag: images.get(prefix + tag, ()) for tag in custom},
        registry_cache=clearing,
    )


def judge(
    settings: Settings,
    snapshot: SnapshotView | None,
    backups: Sequence[NodeBackup],
    record: PreflightRecord | None,
    now: datetime,
    window: Gate,
    images: CustomImages | None = None,
) -> PreflightReport:
    """Gates 1 to 6, from what the run stored (gate 7 is the approval itself)."""
    covered = None
    # a preflight stored before revision 0002 listed files without showing them: read it again
    shown = record is not None and (bool(record.shown) or not record.packages)
    if record is not None and shown and snapshot is not None and snapshot.inventory is not None:
        covered = coverage(snapshot.inventory, record.shown)
    gates = (
        inventory_gate(snapshot, now, settings.inventory_max_age),
        backup_gate(backups, snapshot, settings.expected_nodes),
        package_gate(covered),
        verification_gate(record),
        registry_gate(record, images),
        window,
    )
    return PreflightReport(record, covered, gates, images)
