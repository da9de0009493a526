"""Run the rehearsal: the doctor, the inventory, the preflight's gather and the bucket's size, all read
concurrently and only read; then judge what can be judged without a run (docs/architecture.md,
"Before the night: the rehearsal").

Nothing here opens a run, stores a record, deletes or pushes: the inventory and the gather are the
steps' own reads (`actions.inventory.record_inventory`, `bot.steps.preflight.gather.gather`), the
bucket is measured with `mc du --json` as the purge measures it, and the backup's space check is the
doctor's (bot/doctor/nodes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

from actions.errors import RegcleanError
from actions.inventory import Inventory, InventoryProgress, InventoryRequest, record_inventory
from actions.kube import KubeClient
from actions.minio import bucket_usage, bucket_versioning, minio_pod
from actions.packages import coverage
from actions.registry_cache import CacheClearing
from actions.registry_clear import plan_clearing
from bot.config.settings import Settings
from bot.config.targets import minio_target, plugin_dir, registry_pods, registry_target
from bot.core.model import RunView
from bot.doctor.run import kube_factory, run_doctor
from bot.doctor.slack import SlackProbe
from bot.rehearse.durations import estimates
from bot.rehearse.model import Blocker, BucketPlan, LostTag, Rehearsal
from bot.steps.backup.plan import installer_target
from bot.steps.export.model import CustomImages, Waiver
from bot.steps.preflight.gates import (
    Gate,
    backup_gate,
    inventory_gate,
    package_gate,
    registry_gate,
    verification_gate,
)
from bot.steps.preflight.gather import Sources, gather
from bot.steps.preflight.model import PreflightRecord

T = TypeVar("T")
Kube = Callable[[], KubeClient]


async def run_rehearsal(
    settings: Settings, slack: SlackProbe | None, last_run: RunView | None, kube: Kube | None = None
) -> Rehearsal:
    """Everything the night would do, read-only; `last_run` is the newest closed run (None: there is none)."""
    kube = kube or kube_factory(settings)
    doctor, inventory, record, bucket = await asyncio.gather(
        run_doctor(settings, slack, kube),
        _read("inventory", lambda: _inventory(settings, kube)),
        _read("preflight gather", lambda: _gather(settings, kube)),
        _bucket(settings, kube),
    )
    problems = tuple(p for p in (inventory, record) if isinstance(p, Blocker))
    inv = inventory if isinstance(inventory, Inventory) else None
    rec = record if isinstance(record, PreflightRecord) else None
    gates, on_the_night = _gates(settings, inv, rec)
    durations, source = estimates(settings, last_run)
    bucket_problem = (
        (Blocker("rehearsal", "purge size", bucket.problem, "Fix what the doctor's minio checks name."),)
        if bucket.problem
        else ()
    )
    return Rehearsal(
        doctor=doctor,
        bucket=bucket,
        lost=_lost(rec),
        gates=gates,
        on_the_night=on_the_night,
        durations=durations,
        durations_from=source,
        problems=problems + bucket_problem,
        inventory=_inventory_line(inv),
    )


async def _read(name: str, read: Callable[[], Awaitable[T]]) -> T | Blocker:
    """A read; an error that stops it is a blocker naming it (the message never holds a secret)."""
    try:
        return await read()
    except RegcleanError as exc:
        return Blocker("rehearsal", name, str(exc), "Fix this, then rehearse again.")


async def _inventory(settings: Settings, kube: Kube) -> Inventory:
    async def progress(_: InventoryProgress) -> None:
        return None

    with _closing(kube()) as client:
        return await record_inventory(client, InventoryRequest(settings.inventory_page_size), progress)


async def _gather(settings: Settings, kube: Kube) -> PreflightRecord:
    sources = Sources(await installer_target(settings, kube), plugin_dir(settings), registry_target(settings))

    async def registry_cache() -> CacheClearing:
        with _closing(kube()) as client:
            return await plan_clearing(client, registry_pods(settings))

    return await gather(
        sources,
        kube,
        "rehearsal",
        recorded_at=datetime.now(UTC),
        page_size=settings.inventory_page_size,
        namespaces=settings.platform_namespaces,
        registry_cache=registry_cache,
    )


async def _bucket(settings: Settings, kube: Kube) -> BucketPlan:
    """The bucket's objects and bytes (every version's when versioned), in a Ready MinIO pod."""
    minio = minio_target(settings)
    try:
        with _closing(kube()) as client:
            pod = str((await minio_pod(client, minio))["metadata"]["name"])
            versioning = await bucket_versioning(client, minio, pod)
            usage = await bucket_usage(client, minio, pod, versioned=versioning in ("Enabled", "Suspended"))
    except RegcleanError as exc:
        return BucketPlan(minio.bucket, problem=str(exc))
    if usage is None:
        return BucketPlan(
            minio.bucket, pod, versioning, problem=f"`mc du` of {minio.bucket} failed in pod {pod}"
        )
    size, objects = usage
    return BucketPlan(minio.bucket, pod, versioning, objects, size)


def _gates(
    settings: Settings, inventory: Inventory | None, record: PreflightRecord | None
) -> tuple[tuple[Gate, ...], tuple[Gate, ...]]:
    """The gates judged now, and those that need the night's run or an acknowledgement on the night."""
    covered = coverage(inventory, record.shown) if inventory is not None and record is not None else None
    now = [package_gate(covered)] if covered is not None else []  # else a failed read says why
    night = [
        inventory_gate(None, datetime.now(UTC), settings.inventory_max_age),
        backup_gate([], None, settings.expected_nodes),
    ]
    if record is None:
        return tuple(now), tuple(night)
    acked = dataclasses.replace(record, verify_ack_by="an approver")
    waived = CustomImages({}, {tag: Waiver(tag, "an approver", datetime.now(UTC)) for tag in record.custom})
    for gate, settled in (
        (verification_gate(record), verification_gate(acked)),
        (registry_gate(record), registry_gate(record, waived)),
    ):
        if not gate.passed and settled.passed:
            night.append(gate)  # holds once exported (or waived, or acknowledged) on the night
        else:
            now.append(gate)
    return tuple(now), tuple(night)


def _lost(record: PreflightRecord | None) -> tuple[LostTag, ...]:
    if record is None:
        return ()
    return tuple(LostTag(tag, tuple(record.custom_workloads.get(tag, ()))) for tag in record.custom)


def _inventory_line(inventory: Inventory | None) -> str:
    if inventory is None:
        return ""
    return f"{len(inventory.operators)} installed operators and {len(inventory.plugins)} cluster plugins"


@contextlib.contextmanager
def _closing(client: KubeClient) -> Iterator[KubeClient]:
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
