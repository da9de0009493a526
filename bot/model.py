"""The engine's vocabulary: runs, steps and their states, as immutable views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actions.inventory import Inventory


class RunState(StrEnum):
    """A run is active from its first step until its final report (or until abandoned)."""

    ACTIVE = "active"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


class StepState(StrEnum):
    """`pending → running → succeeded | failed | interrupted` (design §3)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


#: why a step that was running when regclean stopped (cleanly or not) is interrupted
STOPPED_WHILE_RUNNING = "regclean stopped while this step was running; ask again to re-run it."


@dataclass(frozen=True)
class RunbookStep:
    """One step of the runbook, as the checklist shows it."""

    name: str
    """The step's key, also its slash subcommand where it has one."""
    title: str
    """What the checklist calls it."""


#: the runbook in order (design §1); the checklist shows every step, done or not
RUNBOOK: tuple[RunbookStep, ...] = (
    RunbookStep("inventory", "Record operators and cluster plugins"),
    RunbookStep("backup", "Back up /cpaas/minio on every control-plane node"),
    RunbookStep("preflight", "Check the gates"),
    RunbookStep("purge", "Purge the registry bucket (two approvals)"),
    RunbookStep("restore_core", "Restore core images"),
    RunbookStep("restore_plugins", "Restore plugin and operator images"),
    RunbookStep("verify", "Verify that every image pulls"),
    RunbookStep("close", "Close the run: inventory again, catalog, final report"),
)


@dataclass(frozen=True)
class StepView:
    """One attempt at a step."""

    id: int
    run_id: int
    name: str
    state: StepState
    requested_by: str
    started_at: datetime
    finished_at: datetime | None
    summary: str | None
    """One line on what the step left behind, once it succeeded."""
    error: str | None
    """Why it failed or was interrupted."""


@dataclass(frozen=True)
class RunView:
    """A run with every step attempt so far."""

    id: int
    state: RunState
    opened_at: datetime
    opened_by: str
    channel: str | None
    notifier_ref: dict[str, Any]
    """Where the notifier keeps the run (for Slack: the root message), opaque to the engine."""
    steps: tuple[StepView, ...]

    def latest(self, name: str) -> StepView | None:
        """The newest attempt at a step."""
        attempts = [s for s in self.steps if s.name == name]
        return attempts[-1] if attempts else None


@dataclass(frozen=True)
class SnapshotView:
    """A stored inventory: when, by whom, and (when loaded) the inventory itself."""

    id: int
    run_id: int
    recorded_at: datetime
    recorded_by: str
    inventory: Inventory | None


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    at: datetime
    actor: str
    action: str
    run_id: int | None
    detail: dict[str, Any]
