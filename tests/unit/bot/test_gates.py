"""The purge's gates, each from what the run stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actions.backup import NodeBackup
from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from actions.packages import coverage
from bot.core.model import SnapshotView
from bot.steps.preflight.gates import backup_gate, inventory_gate, package_gate

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def snapshot(age: timedelta) -> SnapshotView:
    return SnapshotView(7, 1, NOW - age, "UALICE", None)


def backup(address: str, finished: datetime, *, verified: bool = True) -> NodeBackup:
    return NodeBackup(
        address,
        address,
        f"/cpaas/backup/{address}-minio.tar",
        10,
        3,
        "ab" * 32,
        verified,
        None if verified else "tar failed (exit 2)",
        finished,
    )


def test_the_inventory_gate_needs_a_recent_snapshot_of_this_run() -> None:
    assert not inventory_gate(None, NOW, DAY).passed
    assert inventory_gate(snapshot(timedelta(hours=2)), NOW, DAY).passed
    stale = inventory_gate(snapshot(timedelta(hours=30)), NOW, DAY)
    assert (
        not stale.passed
        and "older than 24 h" in stale.detail
        and "/regclean inventory" in (stale.remedy or "")
    )


def test_the_backup_gate_needs_every_node_verified_after_the_inventory() -> None:
    snap = snapshot(timedelta(hours=1))
    later = NOW - timedelta(minutes=10)
    good = [backup(a, later) for a in ("127.0.0.11", "127.0.0.12", "127.0.0.13")]
    assert backup_gate(good, snap, 3).passed
    assert not backup_gate([], snap, 3).passed
    failed = backup_gate([*good[:2], backup("127.0.0.13", later, verified=False)], snap, 3)
    assert not failed.passed and "127.0.0.13 (tar failed (exit 2))" in failed.detail
    assert not backup_gate(good[:2], snap, 3).passed
    earlier = [backup(a, NOW - timedelta(hours=2)) for a in ("127.0.0.11", "127.0.0.12", "127.0.0.13")]
    old = backup_gate(earlier, snap, 3)
    assert not old.passed and "older than inventory snapshot #7" in old.detail


def test_the_package_gate_names_what_has_no_package() -> None:
    inventory = Inventory(
        operators=(
            OperatorRow("global", "rds-operator", "Installed", "rds-operator", "rds-operator.v4.2.2", None),
        ),
        plugins=(PluginRow("volcano", "aligned", (Installation("global", "v4.2.3"),), None),),
    )
    assert not package_gate(None).passed
    missing = package_gate(coverage(inventory, ["volcano.amd64.v4.2.3.tgz"]))
    assert not missing.passed and "operator global/rds-operator: needs rds-operator v4.2.2" in missing.detail
    assert package_gate(
        coverage(inventory, ["volcano.amd64.v4.2.3.tgz", "rds-operator.amd64.v4.2.2.tgz"])
    ).passed
