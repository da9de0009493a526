"""The plan two people approve: a frozen value, its canonical JSON form, and its fingerprint.

The encoding keeps exactly the keys and nesting of the untyped dict that approval requests have
always stored, so a request stored by an earlier release decodes, and a plan encodes to the very
JSON that was fingerprinted then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actions.backup import NodeBackup
from actions.mc import VERSIONED, purge_command
from actions.registry_cache import CacheClearing
from bot.config.settings import Settings
from bot.config.targets import minio_target
from bot.core.model import SnapshotView
from bot.steps.approval.fields import Fields
from bot.steps.approval.parts import (
    GateVerdict,
    MinioPod,
    PlannedBackup,
    PlannedCustomImages,
    PlannedInventory,
    PlannedPreflight,
)
from bot.steps.export.model import CustomImages
from bot.steps.preflight.gates import Gate
from bot.steps.preflight.model import PreflightRecord

__all__ = [
    "GateVerdict",
    "MinioPod",
    "Plan",
    "PlannedBackup",
    "PlannedCustomImages",
    "PlannedInventory",
    "PlannedPreflight",
    "canonical_json",
    "digest",
    "plan_of",
]


def canonical_json(data: Mapping[str, Any]) -> str:
    """The one JSON text of an encoded plan: sorted keys, no spaces, non-ASCII kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(data: Mapping[str, Any]) -> str:
    """The sha256 (hex) of an encoded plan's canonical JSON."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    """What two people approve; any change to it (a new backup, another pod) changes its fingerprint."""

    run: int
    bucket: str
    minio: MinioPod
    command: str
    """The shell command the purge runs in the MinIO pod."""
    backups: tuple[PlannedBackup, ...]
    """Ordered by address."""
    inventory: PlannedInventory
    preflight: PlannedPreflight
    gates: tuple[GateVerdict, ...]
    """The gates as judged when the plan was made, the window's gate left out (its verdict changes
    as time passes; the window itself is `window`). Empty in requests stored before gates were kept."""
    window: str
    """The window the purge runs in, `START/END` in ISO 8601, or a sentence saying there is none.
    Empty in requests stored before the window was part of the plan."""
    registry_cache: CacheClearing | None = None
    """How the purge clears the registry's blob cache (docs/architecture.md); None in requests
    stored before it was planned, whose purge deletes the registry pods and proves their restart."""
    custom_images: PlannedCustomImages | None = None
    """The custom images exported (tag, digest, where) and waived (tag, by whom); None when the
    preflight found none, and in requests stored before exports were planned."""

    def encode(self) -> dict[str, Any]:
        """The canonical JSON-able form, as the approval request stores it."""
        return {
            "run": self.run,
            "bucket": self.bucket,
            "minio": self.minio.encode(),
            "command": self.command,
            "backups": [b.encode() for b in self.backups],
            "inventory": self.inventory.encode(),
            "preflight": self.preflight.encode(),
            "window": self.window,
            "gates": [g.encode() for g in self.gates],
            # only when planned: an older plan encodes (and fingerprints) as before
            **({"registry_cache": self.registry_cache.encode()} if self.registry_cache else {}),
            **({"custom_images": self.custom_images.encode()} if self.custom_images else {}),
        }

    @property
    def fingerprint(self) -> str:
        """The sha256 of the canonical encoding: the plan the approvers saw is the plan that runs."""
        return digest(self.encode())

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> Plan:
        """A plan from its stored form; ValueError names what is missing, unknown or of the wrong type.

        A key this type does not know is refused rather than dropped: the approvers approved the
        whole plan, so none of it may silently vanish from what is shown and checked.
        """
        top = Fields(
            data, "plan", _PLAN_KEYS, optional=("gates", "window", "registry_cache", "custom_images")
        )
        minio = Fields(
            top.get("minio"), "plan.minio", ("namespace", "pod", "uid", "versioning"), ("versioning",)
        )
        inventory = Fields(top.get("inventory"), "plan.inventory", ("snapshot", "operators", "plugins"))
        pre = Fields(
            top.get("preflight"), "plan.preflight", _PREFLIGHT_KEYS, ("unverified", "unverified_ack_by")
        )
        return cls(
            run=top.integer("run"),
            bucket=top.text("bucket"),
            minio=MinioPod(
                minio.maybe_text("namespace"),
                minio.maybe_text("pod"),
                minio.maybe_text("uid"),
                minio.text("versioning") if "versioning" in minio else None,
            ),
            command=top.text("command"),
            backups=tuple(
                _backup(Fields(b, f"plan.backups[{i}]", _BACKUP_KEYS))
                for i, b in enumerate(top.array("backups"))
            ),
            inventory=PlannedInventory(
                inventory.integer("snapshot"),
                inventory.maybe_integer("operators"),
                inventory.maybe_integer("plugins"),
            ),
            preflight=PlannedPreflight(
                id=pre.integer("id"),
                packages=pre.integer("packages"),
                repositories=pre.integer("repositories"),
                tags=pre.integer("tags"),
                custom=pre.integer("custom"),
                custom_ack_by=pre.maybe_text("custom_ack_by"),
                workload_images=pre.integer("workload_images"),
                unverified=pre.integer("unverified") if "unverified" in pre else 0,
                unverified_ack_by=pre.maybe_text("unverified_ack_by") if "unverified_ack_by" in pre else None,
            ),
            gates=tuple(
                _verdict(Fields(g, f"plan.gates[{i}]", ("key", "title", "passed")))
                for i, g in enumerate(top.array("gates") if "gates" in top else ())
            ),
            window=top.text("window") if "window" in top else "",
            registry_cache=_clearing(top.get("registry_cache")) if "registry_cache" in top else None,
            custom_images=_custom(top.get("custom_images")) if "custom_images" in top else None,
        )


def plan_of(
    settings: Settings,
    run_id: int,
    snapshot: SnapshotView,
    backups: Sequence[NodeBackup],
    record: PreflightRecord,
    pod: Mapping[str, Any],
    *,
    gates: Sequence[Gate],
    window: str,
    versioning: str | None,
    registry_cache: CacheClearing | None = None,
    custom_images: CustomImages | None = None,
) -> Plan:
    """The plan of a run as it stands: its facts, the MinIO pod and its bucket's versioning (None:
    not read, as in plans made before it was), the gates to keep, and the window."""
    inventory = snapshot.inventory
    metadata = pod.get("metadata") or {}
    return Plan(
        run=run_id,
        bucket=settings.minio_bucket,
        minio=MinioPod(
            _maybe_str(metadata.get("namespace")),
            _maybe_str(metadata.get("name")),
            _maybe_str(metadata.get("uid")),
            versioning,
        ),
        command=purge_command(minio_target(settings), versioned=versioning in VERSIONED),
        backups=tuple(
            PlannedBackup(b.node, b.address, b.archive, b.bytes, b.sha256)
            for b in sorted(backups, key=lambda b: b.address)
        ),
        inventory=PlannedInventory(
            snapshot.id,
            len(inventory.operators) if inventory else None,
            len(inventory.plugins) if inventory else None,
        ),
        preflight=PlannedPreflight(
            id=record.id,
            packages=len(record.packages),
            repositories=len(record.repositories),
            tags=record.tag_count,
            custom=len(record.custom),
            custom_ack_by=record.custom_ack_by,
            workload_images=len(record.workload_images),
            unverified=len(record.verification.missing) if record.verification is not None else 0,
            unverified_ack_by=record.verify_ack_by,
        ),
        gates=tuple(GateVerdict.of(g) for g in gates),
        window=window,
        registry_cache=registry_cache,
        custom_images=_planned_custom(record, custom_images),
    )


def _planned_custom(record: PreflightRecord, images: CustomImages | None) -> PlannedCustomImages | None:
    """The preflight's custom tags as exported (with digests) and waived; None when neither."""
    if images is None:
        return None
    exports, waivers = images.exports, images.waivers
    waived = tuple(sorted((t, waivers[t].approver) for t in record.custom if t in waivers))
    exported = tuple(
        sorted(
            (t, e.digest)
            for t in record.custom
            if t not in waivers and (e := exports.get(t)) is not None and e.ok and e.digest is not None
        )
    )
    locations = sorted({exports[t].location for t, _ in exported})
    if not exported and not waived:
        return None
    newest = max((exports[t].exported_at for t, _ in exported), default=None)
    return PlannedCustomImages(
        ", ".join(locations) or None, exported, waived, newest.isoformat() if newest else None
    )


def _custom(data: object) -> PlannedCustomImages:
    fields = Fields(data, "plan.custom_images", ("location", "exported", "exported_at", "waived"))
    exported = [
        Fields(e, f"plan.custom_images.exported[{i}]", ("tag", "digest"))
        for i, e in enumerate(fields.array("exported"))
    ]
    waived = [
        Fields(w, f"plan.custom_images.waived[{i}]", ("tag", "by"))
        for i, w in enumerate(fields.array("waived"))
    ]
    return PlannedCustomImages(
        fields.maybe_text("location"),
        tuple((e.text("tag"), e.text("digest")) for e in exported),
        tuple((w.text("tag"), w.text("by")) for w in waived),
        fields.maybe_text("exported_at"),
    )


def _clearing(data: object) -> CacheClearing:
    if not isinstance(data, Mapping):
        raise ValueError("plan.registry_cache is not an object")
    return CacheClearing.decode(data)


_PLAN_KEYS = (
    "run", "bucket", "minio", "command", "backups", "inventory", "preflight", "window", "gates", "registry_cache",
    "custom_images",
)  # fmt: skip
_BACKUP_KEYS = ("node", "address", "archive", "bytes", "sha256")
_PREFLIGHT_KEYS = (
    "id", "packages", "repositories", "tags", "custom", "custom_ack_by", "workload_images",
    "unverified", "unverified_ack_by",
)  # fmt: skip


def _backup(fields: Fields) -> PlannedBackup:
    return PlannedBackup(
        fields.text("node"),
        fields.text("address"),
        fields.text("archive"),
        fields.maybe_integer("bytes"),
        fields.maybe_text("sha256"),
    )


def _verdict(fields: Fields) -> GateVerdict:
    return GateVerdict(fields.text("key"), fields.text("title"), fields.flag("passed"))


def _maybe_str(value: object) -> str | None:
    return None if value is None else str(value)
