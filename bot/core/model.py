"""The engine's vocabulary: runs, steps and their states, as immutable views."""

from __future__ import annotations

from collections.abc import Callable
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
    """`pending → running → succeeded | failed | interrupted`.

    See docs/architecture.md, "The run's state machine".
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class StepName(StrEnum):
    """The runbook's steps, by the key the store, the checklist and the slash commands use."""

    INVENTORY = "inventory"
    BACKUP = "backup"
    PREFLIGHT = "preflight"
    EXPORT = "export"
    PURGE = "purge"
    RESTORE_CORE = "restore_core"
    RESTORE_PLUGINS = "restore_plugins"
    RESTORE_CUSTOM = "restore_custom"
    VERIFY = "verify"
    CLOSE = "close"


#: what a person should check after a step was cut off, by step (nothing is restarted on its own)
_AFTER_INTERRUPTION: dict[str, str] = {
    StepName.INVENTORY: "Nothing was changed on the cluster. Record it again with `/regclean inventory`.",
    StepName.BACKUP: (
        "A node may keep a temporary archive next to the backup directory; it is never named like a "
        "complete one. Run `/regclean backup` again."
    ),
    StepName.PREFLIGHT: "Nothing was changed. Run `/regclean preflight` again.",
    StepName.EXPORT: (
        "Nothing was changed in the registry; the export may hold some images already. Run `/regclean export` "
        "again: what is there intact is kept, the rest is written."
    ),
    StepName.PURGE: (
        "The purge may have emptied part of the bucket, and the registry pods may not have been restarted. "
        "Check the bucket in the MinIO pod (`mc ls --recursive`) and the registry pods first. Restoring stays "
        "blocked until a purge is recorded as done, or an approver overrides with `/regclean restore core "
        "--override`. regclean does not start the purge again on its own."
    ),
    StepName.RESTORE_CORE: (
        "`upload.sh` may still be running on the installer node (`ps -ef | grep upload.sh`). Once it has "
        "ended, run `/regclean restore core` again."
    ),
    StepName.RESTORE_PLUGINS: (
        "A `violet push` may still be running on the installer node (`ps -ef | grep violet`). Once it has "
        "ended, run `/regclean restore plugins` again; pushing a package twice is harmless."
    ),
    StepName.RESTORE_CUSTOM: (
        "Some custom images may be pushed back already; pushing one again is harmless. Run `/regclean restore "
        "custom` again."
    ),
    StepName.VERIFY: "Nothing was changed. Run `/regclean verify` again.",
    StepName.CLOSE: "The run is still open. Close it again with `/regclean close`.",
}


def stopped_while_running(step: str) -> str:
    """Why a step that was running when regclean stopped (cleanly or not) is interrupted, and what to check."""
    advice = _AFTER_INTERRUPTION.get(step, "Ask again to run it.")
    return f"regclean stopped while this step was running. {advice}"


@dataclass(frozen=True)
class RunbookStep:
    """One step of the runbook, as the checklist shows it."""

    name: StepName
    """The step's key, also its slash subcommand where it has one."""
    title: str
    """What the checklist calls it."""


#: the runbook in order; the checklist shows every step, done or not
RUNBOOK: tuple[RunbookStep, ...] = (
    RunbookStep(StepName.INVENTORY, "Record operators and cluster plugins"),
    RunbookStep(StepName.BACKUP, "Back up /cpaas/minio on every control-plane node"),
    RunbookStep(StepName.PREFLIGHT, "Check the gates"),
    RunbookStep(StepName.EXPORT, "Export the custom images (OCI layout)"),
    RunbookStep(StepName.PURGE, "Purge the registry bucket (two approvals)"),
    RunbookStep(StepName.RESTORE_CORE, "Restore core images"),
    RunbookStep(StepName.RESTORE_PLUGINS, "Restore plugin and operator images"),
    RunbookStep(StepName.RESTORE_CUSTOM, "Push the custom images back from the export"),
    RunbookStep(StepName.VERIFY, "Verify that every image pulls"),
    RunbookStep(StepName.CLOSE, "Close the run: inventory again, catalog, final report"),
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


@dataclass(frozen=True)
class Notice:
    """A message for a run's thread: `text` with `{0}`, `{1}`… where `times` go (so that each reader
    can see them in their own time zone), naming `people` (Slack user IDs) first. With `mention`,
    they are mentioned (notified): for what they must do, or a failure (docs/architecture.md, "People
    and times in Slack"); without it, they are named."""

    text: str
    times: tuple[datetime, ...] = ()
    people: tuple[str, ...] = ()
    mention: bool = False

    def render(self, time: Callable[[datetime], str]) -> str:
        """The text with every time written by `time`."""
        return self.text.format(*(time(t) for t in self.times))


@dataclass(frozen=True)
class Said:
    """A sentence with people and times in it: plain `text` with `{0}`, `{1}`… where `people` (Slack
    user IDs) are named, then, numbered on, where `times` go. The handler escapes the text and writes
    each person and time its own way (a name, a Slack date), so that no user ID or time format is
    written by the core (docs/architecture.md, "Cluster strings in Slack"). Literal braces in
    `text` are doubled."""

    text: str
    people: tuple[str, ...] = ()
    times: tuple[datetime, ...] = ()

    def render(
        self,
        person: Callable[[str], str],
        words: Callable[[str], str] = str,
        time: Callable[[datetime], str] = lambda t: f"{t:%Y-%m-%d %H:%M} UTC",
    ) -> str:
        """The sentence with `words` applied to its text, each person written by `person` and each
        time by `time`."""
        slots = [person(p) for p in self.people] + [time(t) for t in self.times]
        return words(self.text).format(*slots)
