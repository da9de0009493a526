"""The control-plane nodes: as many as expected, host keys known and matching, the MinIO directory
readable, `tar`, `find` and `df` present, and room in the backup directory for the archive
(the backup's own estimate and margin, `check_space`), all read-only (`actions/node_probe.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from actions.backup import NodeSpec
from actions.backup_checks import Census, check_space
from actions.errors import ActionError, HostKeyRejected
from actions.kube import KubeReader
from actions.node_probe import probe_node
from bot.config.settings import Settings
from bot.doctor.model import Check, fail, ok
from bot.steps.backup.plan import backup_planner

AREA = "nodes"


async def node_checks(settings: Settings, kube: Callable[[], KubeReader]) -> list[Check]:
    """The count, then each node's checks, concurrently."""
    try:
        plan = await backup_planner(settings, kube)()
    except ActionError as exc:
        return [
            fail(
                AREA, "count", str(exc), "Set REGCLEAN_NODES or REGCLEAN_EXPECTED_NODES to match the cluster."
            )
        ]
    count = ok(AREA, "count", f"{len(plan.nodes)} nodes, as REGCLEAN_EXPECTED_NODES says")
    per_node = await asyncio.gather(*(_node(spec, plan.margin_percent) for spec in plan.nodes))
    return [count, *(c for checks in per_node for c in checks)]


async def _node(spec: NodeSpec, margin: float) -> list[Check]:
    address = spec.target.address
    try:
        probe = await probe_node(spec.target, spec.minio_dir, spec.backup_dir)
    except HostKeyRejected as exc:
        return [
            fail(
                AREA,
                f"{address} host key",
                str(exc),
                "Add the node's host key to REGCLEAN_SSH_KNOWN_HOSTS after checking its fingerprint.",
            )
        ]
    except ActionError as exc:
        return [
            fail(
                AREA,
                f"{address} ssh",
                str(exc),
                "Check REGCLEAN_SSH_USER, REGCLEAN_SSH_KEY and the network path.",
            )
        ]
    checks = [ok(AREA, f"{address} host key", f"known and matching ({spec.target.where})")]
    if probe.missing_tools:
        checks.append(
            fail(
                AREA,
                f"{address} tools",
                f"missing: {', '.join(probe.missing_tools)}",
                "Install them on the node: the backup runs tar, find and df.",
            )
        )
    else:
        checks.append(ok(AREA, f"{address} tools", "tar, find, df present"))
    if probe.minio != "readable" or probe.unreadable:
        seen = f"{spec.minio_dir} is {probe.minio}" + (
            f"; {probe.unreadable} entries could not be read" if probe.unreadable else ""
        )
        checks.append(
            fail(
                AREA,
                f"{address} minio dir",
                seen,
                f"Let {spec.target.user} read {spec.minio_dir} (REGCLEAN_MINIO_DIR), or use another REGCLEAN_SSH_USER.",
            )
        )
        return checks
    checks.append(ok(AREA, f"{address} minio dir", f"{spec.minio_dir} readable"))
    checks.append(_space(address, spec, probe.census, probe.free, probe.measured_dir, margin))
    return checks


def _space(
    address: str, spec: NodeSpec, census: Census | None, free: int | None, measured: str | None, margin: float
) -> Check:
    name = f"{address} backup space"
    if census is None or free is None:
        return fail(
            AREA,
            name,
            f"df of {spec.backup_dir} printed nothing usable",
            "Check REGCLEAN_BACKUP_DIR exists or can be created.",
        )
    try:
        check_space(census, free, margin, f"{address}:{spec.backup_dir}")
    except ActionError as exc:
        return fail(
            AREA, name, str(exc), "Free space there, or set REGCLEAN_BACKUP_DIR to a larger file system."
        )
    where = (
        spec.backup_dir
        if measured == spec.backup_dir
        else f"{spec.backup_dir} (not there yet: measured {measured})"
    )
    return ok(
        AREA, name, f"{free:,} bytes free in {where}; the archive needs about {census.archive_estimate:,}"
    )
