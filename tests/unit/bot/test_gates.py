"""The purge's gates, each from what the run stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from actions.backup import NodeBackup
from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from actions.packages import coverage
from actions.violet_output import Shown, Verification
from bot.core.model import SnapshotView
from bot.steps.preflight.gates import backup_gate, inventory_gate, package_gate, verification_gate
from bot.steps.preflight.model import PreflightRecord

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
    volcano = Shown(
        "plugins-volcano-v4.2.3-hybrid.tgz", "Volcano", "moduleplugin", "v4.2.3", "r/acp/chart-volcano:v4.2.3"
    )
    rds = Shown("rds-operator.v4.2.2.tgz", "RDS", "bundle", "4.2.2", "r/acp/rds-operator-bundle:v4.2.2")
    assert not package_gate(None).passed
    missing = package_gate(coverage(inventory, [volcano]))
    assert not missing.passed and "operator global/rds-operator: needs rds-operator v4.2.2" in missing.detail
    assert package_gate(coverage(inventory, [volcano, rds])).passed


def test_the_package_gate_names_a_package_violet_cannot_show_with_its_error() -> None:
    cut = Shown("cilium-v4.2.17.tgz", error="Error: invalid package cilium-v4.2.17.tgz: gzip: invalid header")
    gate = package_gate(coverage(Inventory(operators=(), plugins=()), [cut]))
    assert not gate.passed
    assert "violet cannot show cilium-v4.2.17.tgz (Error: invalid package cilium-v4.2.17.tgz" in gate.detail
    assert "replace those violet cannot show" in (gate.remedy or "")


def verified(**kwargs: object) -> PreflightRecord:
    fields: dict[str, Any] = {
        "id": 4, "run_id": 1, "recorded_at": NOW, "recorded_by": "U", "installer_node": "n", "plugin_dir": "/p",
        "packages": ("a.tgz", "b.tgz"), "registry": "r", "repositories": {}, "custom": (), "workload_images": (),
    }  # fmt: skip
    return PreflightRecord(**{**fields, **kwargs})


def test_the_verification_gate_holds_when_every_package_verified() -> None:
    gate = verification_gate(verified(verification=Verification(gpg=("a.tgz",), checksum=("b.tgz",))))
    assert gate.passed and gate.detail == "2 verified (1 GPG, 1 checksum)."
    assert not verification_gate(None).passed and not verification_gate(verified()).passed


def test_a_package_that_fails_verification_blocks_the_purge_even_when_acknowledged() -> None:
    record = verified(verification=Verification(gpg=("a.tgz",), failed=("b.tgz",)), verify_ack_by="UBOB")
    gate = verification_gate(record)
    assert not gate.passed and "Verification failed: b.tgz." in gate.detail
    assert "intact copies" in (gate.remedy or "")


def test_a_package_without_verification_file_needs_an_approvers_acknowledgement() -> None:
    unverified = Verification(gpg=("a.tgz",), missing=("b.tgz",))
    waiting = verification_gate(verified(verification=unverified))
    assert not waiting.passed and "No verification file: b.tgz." in waiting.detail
    assert "Acknowledge unverified packages" in (waiting.remedy or "")
    acknowledged = verification_gate(verified(verification=unverified, verify_ack_by="UBOB"))
    assert acknowledged.passed and acknowledged.detail.endswith("Acknowledged by UBOB.")


def test_a_verify_that_gave_no_summary_does_not_hold() -> None:
    gate = verification_gate(verified(verification=Verification(error="Error: stat /p: no such file")))
    assert not gate.passed and "Error: stat /p: no such file" in gate.detail
