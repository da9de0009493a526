"""The final report that closes a run: what came back, what went, what is left to do."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InventoryCheck:
    """The inventory recorded at the close, against the one the purge was approved on."""

    snapshot_before: int | None
    snapshot_after: int
    operators_before: int
    operators_after: int
    plugins_before: int
    plugins_after: int
    problems: tuple[str, ...]
    """An operator no longer `Installed` with the same CSV, or a plugin not at the same versions."""


@dataclass(frozen=True)
class CatalogCheck:
    """The registry's catalog now, against the record the preflight made before the purge."""

    repositories_before: int
    repositories_after: int
    tags_before: int
    tags_after: int
    back: tuple[str, ...]
    """`repo:tag` recorded before the purge and present again."""
    gone: tuple[str, ...]
    """`repo:tag` recorded before the purge and not restored: the old tags, the point of the exercise."""
    new: tuple[str, ...]
    """`repo:tag` present now that the registry did not hold before."""
    missing: tuple[str, ...]
    """Images that workloads use (recorded at preflight) that are not back."""
    custom_missing: tuple[str, ...]
    """Custom repositories (listed at preflight) that no package restored."""


@dataclass(frozen=True)
class CustomCheck:
    """The custom images after the restore (docs/architecture.md, "Custom images")."""

    pulled: tuple[str, ...]
    """Exported, pushed back with the same digest, and pulled."""
    not_back: tuple[str, ...]
    """`repo:tag: why`: exported, but not pushed back or not pulling."""
    waived: tuple[str, ...]
    """`repo:tag (waived by U…; used by ns/a, ns/b)`: deleted for good, as an approver allowed."""


@dataclass(frozen=True)
class StepTime:
    """How long a runbook step took, over all its attempts."""

    name: str
    title: str
    attempts: int
    state: str
    """The newest attempt's state, or `not run`."""
    seconds: float
    outcomes: tuple[str, ...] = ()
    """Each attempt's state, oldest first (empty in reports stored before it was kept)."""


@dataclass(frozen=True)
class Bucket:
    """The registry bucket before the purge and at the close."""

    name: str
    bytes_before: int | None
    objects_before: int | None
    bytes_after: int | None
    objects_after: int | None

    @property
    def reclaimed(self) -> int | None:
        """Bytes the cleanup gave back (None when either size is unknown)."""
        if self.bytes_before is None or self.bytes_after is None:
            return None
        return self.bytes_before - self.bytes_after


@dataclass(frozen=True)
class FinalReport:
    """Everything the run's close found; the run succeeded only when `succeeded`."""

    run_id: int
    closed_by: str
    requester: str | None
    """Who asked for the purge."""
    approvers: tuple[str, ...]
    bucket: Bucket
    objects_removed: int | None
    steps: tuple[StepTime, ...]
    inventory: InventoryCheck
    catalog: CatalogCheck
    images_checked: int
    images_pullable: int
    verified_scope: str | None
    """The scope of the newest pull check (`all` when it covered every workload image)."""
    packages_pushed: int
    packages_total: int
    left_to_do: tuple[str, ...]
    succeeded: bool
    participants: tuple[str, ...] = ()
    """Everyone who asked for a step, approved, acknowledged or closed, in order of first appearance."""
    purged: bool = True
    """The run emptied the bucket; a run closed without a purge is abandoned, not failed."""
    custom: CustomCheck | None = None
    """The custom images re-pushed, pulled and waived; None when the run purged nothing, and in
    reports stored before custom images were exported."""

    @property
    def state(self) -> str:
        """How the run ends: `succeeded`, `failed`, or `abandoned` (closed before any purge)."""
        if self.succeeded:
            return "succeeded"
        return "failed" if self.purged else "abandoned"


def report_to_dict(report: FinalReport) -> dict[str, Any]:
    """As stored (JSON)."""
    return dataclasses.asdict(report)


def report_from_dict(data: dict[str, Any]) -> FinalReport:
    """The inverse of report_to_dict."""
    fields = dict(data)
    fields["approvers"] = tuple(fields["approvers"])
    fields["bucket"] = Bucket(**fields["bucket"])
    fields["steps"] = tuple(
        StepTime(**{**s, "outcomes": tuple(s.get("outcomes", ()))}) for s in fields["steps"]
    )
    fields["inventory"] = InventoryCheck(
        **{**fields["inventory"], "problems": tuple(fields["inventory"]["problems"])}
    )
    catalog: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in fields["catalog"].items()
    }
    fields["catalog"] = CatalogCheck(**catalog)
    fields["left_to_do"] = tuple(fields["left_to_do"])
    fields["participants"] = tuple(fields.get("participants", ()))
    custom = fields.get("custom")
    fields["custom"] = None if custom is None else CustomCheck(**{k: tuple(v) for k, v in custom.items()})
    return FinalReport(**fields)
