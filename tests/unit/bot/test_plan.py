"""The approved plan: its encoding is the one stored requests already hold, and its fingerprint follows it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actions.backup import NodeBackup
from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from actions.violet_output import Verification
from bot.config.settings import Settings
from bot.core.model import SnapshotView
from bot.steps.approval.plan import GateVerdict, MinioPod, Plan, PlannedBackup, PlannedCustomImages, plan_of
from bot.steps.export.model import CustomImages, ExportedTag, Waiver
from bot.steps.preflight.gates import Gate
from bot.steps.preflight.model import PreflightRecord

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = Settings.load({"REGCLEAN_MINIO_SELECTOR": "app=minio"})
POD = {"metadata": {"namespace": "kube-system", "name": "minio-0", "uid": "5f1c-u1"}}
WINDOW = "2026-11-28T02:00:00+00:00/2026-11-28T06:00:00+00:00"
GATES = (
    Gate("inventory", "Operators and plugins recorded", True, "Snapshot #3, recorded 1 hour ago by UALICE."),
    Gate("backup", "Verified backup of every control-plane node", True, "3 of 3 nodes verified."),
    Gate("packages", "A package for every installed operator and plugin", True, "2 packages cover it."),
    Gate("registry", "Registry recorded; custom images acknowledged", True, "Acknowledged by UBOB."),
)

#: a plan exactly as the release before versioned buckets stored it: `plan_of`'s dict, then the
#: purge step's gates and window
STORED: dict[str, Any] = {
    "run": 1,
    "bucket": "registry",
    "minio": {"namespace": "kube-system", "pod": "minio-0", "uid": "5f1c-u1"},
    "command": (
        '. /etc/config/minio.env && mc --insecure alias set minio https://127.0.0.1:9000 "$MINIO_ACCESS_KEY" '
        '"$MINIO_SECRET_KEY" && mc --insecure rm --recursive --force minio/registry/'
    ),
    "backups": [
        {
            "node": "master-1",
            "address": "127.0.0.11",
            "archive": "/cpaas/backup/127.0.0.11-minio.tar",
            "bytes": 3221225472,
            "sha256": "ab" * 32,
        },
        {
            "node": "master-2",
            "address": "127.0.0.12",
            "archive": "/cpaas/backup/127.0.0.12-minio.tar",
            "bytes": None,
            "sha256": None,
        },
    ],
    "inventory": {"snapshot": 3, "operators": 1, "plugins": 1},
    "preflight": {
        "id": 5,
        "packages": 2,
        "repositories": 2,
        "tags": 3,
        "custom": 1,
        "custom_ack_by": "UBOB",
        "workload_images": 1,
    },
    "window": WINDOW,
    "gates": [
        {"key": "inventory", "title": "Operators and plugins recorded", "passed": True},
        {"key": "backup", "title": "Verified backup of every control-plane node", "passed": True},
        {"key": "packages", "title": "A package for every installed operator and plugin", "passed": True},
        {"key": "registry", "title": "Registry recorded; custom images acknowledged", "passed": True},
    ],
}

#: the same plan as the current release stores it: the bucket's versioning read, mc's output as JSON
CURRENT: dict[str, Any] = {
    **STORED,
    "minio": {**STORED["minio"], "versioning": ""},
    "command": STORED["command"].replace("mc --insecure rm", "mc --insecure --json rm"),
}


def old_fingerprint(plan: Mapping[str, Any]) -> str:
    """The fingerprint exactly as the current release computes it over its dict."""
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def snapshot() -> SnapshotView:
    inventory = Inventory(
        operators=(
            OperatorRow(
                "global", "clickhouse", "Installed", "clickhouse-operator", "clickhouse-operator.v4.2.0", "CH"
            ),
        ),
        plugins=(PluginRow("capi-provider-aws", "agnostic", (Installation("global", "v4.0.10"),), "AWS"),),
    )
    return SnapshotView(3, 1, NOW - timedelta(hours=1), "UALICE", inventory)


def backups(sha256: str = "ab" * 32) -> list[NodeBackup]:
    """Two nodes, out of address order; the second has no size or digest recorded."""
    finished = NOW - timedelta(minutes=10)
    return [
        NodeBackup("master-2", "127.0.0.12", "/cpaas/backup/127.0.0.12-minio.tar", None, None, None, True, None, finished),
        NodeBackup("master-1", "127.0.0.11", "/cpaas/backup/127.0.0.11-minio.tar", 3 * 1024**3, 9, sha256, True, None, finished),
    ]  # fmt: skip


def record(ack: str | None = "UBOB") -> PreflightRecord:
    return PreflightRecord(
        id=5,
        run_id=1,
        recorded_at=NOW,
        recorded_by="UALICE",
        installer_node="127.0.0.11",
        plugin_dir="/cpaas/installer/plugins",
        packages=("clickhouse-operator.amd64.v4.2.0.tgz", "capi-provider-aws.ALL.v4.0.10.tgz"),
        registry="reg:5000",
        repositories={"acp/archon": ("v4.2.5", "v4.1.0"), "retail/shop": ("1.0",)},
        custom=("retail/shop",),
        workload_images=("reg:5000/acp/archon:v4.2.5",),
        custom_ack_by=ack,
        custom_ack_at=NOW if ack else None,
    )


def made(
    *,
    pod: Mapping[str, Any] = POD,
    nodes: list[NodeBackup] | None = None,
    ack: str | None = "UBOB",
    window: str = WINDOW,
    versioning: str = "",
) -> Plan:
    """The plan `plan_of` makes from the sample facts."""
    chosen = nodes if nodes is not None else backups()
    return plan_of(
        SETTINGS, 1, snapshot(), chosen, record(ack), pod, gates=GATES, window=window, versioning=versioning
    )


def test_plan_of_makes_the_plan_the_current_release_stores() -> None:
    plan = made()
    assert plan.encode() == CURRENT
    assert [b.address for b in plan.backups] == ["127.0.0.11", "127.0.0.12"], "ordered by address"
    assert plan.gates[0] == GateVerdict("inventory", "Operators and plugins recorded", True)


def test_a_stored_plan_decodes_and_keeps_its_encoding_and_fingerprint() -> None:
    plan = Plan.decode(STORED)
    assert plan.encode() == STORED
    assert plan.fingerprint == old_fingerprint(STORED)
    assert plan.minio == MinioPod("kube-system", "minio-0", "5f1c-u1")
    assert plan.backups[1] == PlannedBackup(
        "master-2", "127.0.0.12", "/cpaas/backup/127.0.0.12-minio.tar", None, None
    )
    assert plan.inventory.snapshot == 3 and plan.preflight.custom_ack_by == "UBOB"


def test_packages_without_verification_file_and_their_acknowledgement_are_part_of_the_plan() -> None:
    unverified = dataclasses.replace(record(), verification=Verification(gpg=("a.tgz",), missing=("b.tgz",)))
    plan = plan_of(
        SETTINGS, 1, snapshot(), backups(), unverified, POD, gates=GATES, window=WINDOW, versioning=""
    )
    assert plan.encode()["preflight"]["unverified"] == 1 and plan.preflight.unverified_ack_by is None
    acknowledged = dataclasses.replace(unverified, verify_ack_by="UCAROL")
    other = plan_of(
        SETTINGS, 1, snapshot(), backups(), acknowledged, POD, gates=GATES, window=WINDOW, versioning=""
    )
    assert Plan.decode(other.encode()) == other and other.preflight.unverified_ack_by == "UCAROL"
    assert len({made().fingerprint, plan.fingerprint, other.fingerprint}) == 3


def test_a_versioned_bucket_is_in_the_plan_and_its_command_removes_every_version() -> None:
    versioned = made(versioning="Enabled")
    assert versioned.minio.versioned and not made().minio.versioned
    assert versioned.command.endswith("rm --recursive --force --versions minio/registry/")
    assert Plan.decode(versioned.encode()) == versioned
    assert versioned.fingerprint != made().fingerprint, "turning versioning on voids an approval"


def test_the_encoding_round_trips_through_json() -> None:
    plan = made(ack=None)
    assert Plan.decode(plan.encode()) == plan
    assert Plan.decode(json.loads(json.dumps(plan.encode()))) == plan


def test_a_plan_stored_before_the_gates_and_window_were_kept_decodes() -> None:
    older = {k: v for k, v in STORED.items() if k not in ("gates", "window")}
    plan = Plan.decode(older)
    assert plan.gates == () and plan.window == ""
    assert plan.backups == Plan.decode(STORED).backups


def test_the_fingerprint_changes_with_the_pod_a_backup_the_acknowledgement_and_the_window() -> None:
    base = made().fingerprint
    assert base == made().fingerprint
    other_pod = {"metadata": {**POD["metadata"], "uid": "5f1c-u2"}}
    assert base != made(pod=other_pod).fingerprint, "the same pod name, recreated"
    assert base != made(nodes=backups(sha256="cd" * 32)).fingerprint
    assert base != made(ack="UCAROL").fingerprint
    assert base != made(ack=None).fingerprint
    assert base != made(window="no window is coming up").fingerprint
    assert base != dataclasses.replace(made(), gates=made().gates[:-1]).fingerprint


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "plan is list"),
        ({**STORED, "run": "1"}, r"plan\.run is str '1', not an integer"),
        ({**STORED, "run": True}, r"plan\.run is bool True, not an integer"),
        ({**STORED, "bucket": None}, r"plan\.bucket is null, not a string"),
        ({k: v for k, v in STORED.items() if k != "command"}, "plan lacks command"),
        ({**STORED, "password": "s3cr3t"}, "plan has keys a plan does not have: password"),
        ({**STORED, "minio": "kube-system/minio-0"}, r"plan\.minio is str .*, not an object"),
        ({**STORED, "minio": {"pod": "minio-0"}}, r"plan\.minio lacks namespace, uid"),
        ({**STORED, "backups": {"127.0.0.11": "ab"}}, r"plan\.backups is dict .*, not a list"),
        ({**STORED, "backups": [{**STORED["backups"][0], "bytes": 1.5}]}, r"plan\.backups\[0\]\.bytes is float"),
        ({**STORED, "inventory": {**STORED["inventory"], "snapshot": None}}, r"plan\.inventory\.snapshot is null"),
        ({**STORED, "preflight": {**STORED["preflight"], "tags": "9100"}}, r"plan\.preflight\.tags is str"),
        ({**STORED, "gates": [{"key": "x", "title": "X", "passed": "yes"}]}, r"plan\.gates\[0\]\.passed is str"),
        ({**STORED, "window": None}, r"plan\.window is null, not a string"),
    ],
)  # fmt: skip
def test_decode_refuses_what_is_not_a_plan(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Plan.decode(data)


def test_how_the_registry_cache_is_cleared_is_part_of_the_plan_and_of_its_fingerprint() -> None:
    from dataclasses import replace

    from actions.registry_cache import CacheClearing

    inmemory = CacheClearing("restart", "s3", "inmemory", True, 3)
    redis = CacheClearing("flush-redis", "s3", "redis", True, 3, redis="10.0.0.5:6379 db 0")
    plans = [replace(made(), registry_cache=c) for c in (inmemory, redis)]
    for plan in plans:
        assert Plan.decode(json.loads(json.dumps(plan.encode()))) == plan
    assert len({made().fingerprint, *(p.fingerprint for p in plans)}) == 3, (
        "another clearing voids an approval"
    )
    assert "registry_cache" not in made().encode(), "a plan without it encodes as before"


def test_the_custom_images_exported_and_waived_are_part_of_the_plan_and_its_fingerprint() -> None:
    shop, cart = "retail/shop:1.0", "retail/cart:2"
    custom = dataclasses.replace(record(None), custom=(shop, cart))
    digest_a, digest_b = "sha256:" + "a" * 64, "sha256:" + "b" * 64

    def planned(images: CustomImages) -> Plan:
        return plan_of(
            SETTINGS, 1, snapshot(), backups(), custom, POD, gates=GATES, window=WINDOW, versioning="",
            custom_images=images,
        )  # fmt: skip

    def exported(tag: str, digest: str) -> ExportedTag:
        return ExportedTag(tag, "/var/lib/regclean/exports/run-1", digest, "m", 1, 1, 1, NOW, NOW, None)

    plan = planned(CustomImages({shop: exported(shop, digest_a)}, {cart: Waiver(cart, "UBOB", NOW)}))
    assert plan.custom_images == PlannedCustomImages(
        "/var/lib/regclean/exports/run-1", ((shop, digest_a),), ((cart, "UBOB"),), NOW.isoformat()
    )
    assert Plan.decode(plan.encode()) == plan
    assert plan.encode()["custom_images"]["exported"] == [{"tag": shop, "digest": digest_a}]
    again = planned(CustomImages({shop: exported(shop, digest_b)}, {cart: Waiver(cart, "UBOB", NOW)}))
    assert again.fingerprint != plan.fingerprint, "a new export voids an approval"
    later = dataclasses.replace(exported(shop, digest_a), exported_at=NOW + timedelta(minutes=5))
    same = planned(CustomImages({shop: later}, {cart: Waiver(cart, "UBOB", NOW)}))
    assert same.fingerprint != plan.fingerprint, "so does exporting the same digests again"
    both = planned(CustomImages({}, {shop: Waiver(shop, "UCAROL", NOW), cart: Waiver(cart, "UBOB", NOW)}))
    assert both.fingerprint != plan.fingerprint, "so does a waiver"
    assert both.custom_images is not None and both.custom_images.location is None
    with pytest.raises(ValueError, match=r"plan\.custom_images\.exported"):
        Plan.decode(
            {
                **plan.encode(),
                "custom_images": {**plan.encode()["custom_images"], "exported": [{"tag": shop}]},
            }
        )
