"""What a plan is made of: the MinIO pod, each backup, the inventory, the preflight's counts and the
gates' verdicts, each a frozen value with its JSON form (docs/architecture.md, "Gates and the plan")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actions.mc import VERSIONED
from bot.steps.preflight.gates import Gate


@dataclass(frozen=True)
class MinioPod:
    """The MinIO pod the purge runs in."""

    namespace: str | None
    pod: str | None
    uid: str | None
    """A pod recreated under the same name has another uid, and so another plan."""
    versioning: str | None = None
    """The bucket's versioning (`Enabled`, `Suspended`, "" for never); None in a plan made before
    it was read. A versioned bucket is purged with `--versions`."""

    @property
    def versioned(self) -> bool:
        """Whether the bucket may hold versions that only `--versions` removes."""
        return self.versioning in VERSIONED

    def encode(self) -> dict[str, Any]:
        """The JSON form (a plan made before versioning was read encodes, and fingerprints, as before)."""
        versioning = {} if self.versioning is None else {"versioning": self.versioning}
        return {"namespace": self.namespace, "pod": self.pod, "uid": self.uid, **versioning}


@dataclass(frozen=True)
class PlannedBackup:
    """One node's verified backup, as approved."""

    node: str
    address: str
    archive: str
    """The archive's path on the node."""
    bytes: int | None
    """The archive's size."""
    sha256: str | None

    def encode(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "node": self.node,
            "address": self.address,
            "archive": self.archive,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class PlannedInventory:
    """The inventory snapshot the plan was made on."""

    snapshot: int
    """The snapshot's id."""
    operators: int | None
    """How many operators it holds (None when the snapshot was not loaded)."""
    plugins: int | None
    """How many cluster plugins it holds (None when the snapshot was not loaded)."""

    def encode(self) -> dict[str, Any]:
        """The JSON form."""
        return {"snapshot": self.snapshot, "operators": self.operators, "plugins": self.plugins}


@dataclass(frozen=True)
class PlannedPreflight:
    """The preflight the plan was made on, as counts."""

    id: int
    packages: int
    """Package files in the plugin directory."""
    repositories: int
    """Repositories in the registry."""
    tags: int
    """Tags in the registry, over every repository."""
    custom: int
    """Custom tags (neither the installer nor a package restores them); repositories in a plan made
    before the preflight counted tags."""
    custom_ack_by: str | None
    """Who acknowledged that the custom images are lost, if anybody did."""
    workload_images: int
    """Images from the registry that the cluster's pods use."""
    unverified: int = 0
    """Packages without a verification file (0 in a plan made before the preflight verified packages)."""
    unverified_ack_by: str | None = None
    """The approver who acknowledged them, if anybody did."""

    def encode(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "id": self.id,
            "packages": self.packages,
            "repositories": self.repositories,
            "tags": self.tags,
            "custom": self.custom,
            "custom_ack_by": self.custom_ack_by,
            "workload_images": self.workload_images,
            # only when there are any: a plan without them encodes (and fingerprints) as before
            **(
                {"unverified": self.unverified, "unverified_ack_by": self.unverified_ack_by}
                if self.unverified
                else {}
            ),
        }


@dataclass(frozen=True)
class PlannedCustomImages:
    """The custom images as approved (docs/architecture.md, "Custom images"): each exported tag with
    its digest and where the export is, and each waived tag with its approver. A new export or
    waiver changes the plan, as a new backup does."""

    location: str | None
    """The run's export (a path here, or `sftp://node/path`); None when nothing was exported."""
    exported: tuple[tuple[str, str], ...]
    """(tag, digest), by tag."""
    waived: tuple[tuple[str, str], ...]
    """(tag, approver), by tag."""
    exported_at: str | None = None
    """When the newest of those exports was written (ISO 8601): exporting again, even the same
    digests, voids an approval, as a new backup does."""

    def encode(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "location": self.location,
            "exported": [{"tag": t, "digest": d} for t, d in self.exported],
            "exported_at": self.exported_at,
            "waived": [{"tag": t, "by": b} for t, b in self.waived],
        }


@dataclass(frozen=True)
class GateVerdict:
    """One gate's verdict when the plan was made (without its detail, which may mention times)."""

    key: str
    title: str
    passed: bool

    @classmethod
    def of(cls, gate: Gate) -> GateVerdict:
        """The verdict of a judged gate."""
        return cls(gate.key, gate.title, gate.passed)

    def encode(self) -> dict[str, Any]:
        """The JSON form."""
        return {"key": self.key, "title": self.title, "passed": self.passed}
