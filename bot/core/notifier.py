"""How the core tells the outside world what happened, always after the store (docs/architecture.md,
"Steps").

`handlers/` implements this for Slack, `bot/console.py` for the terminal, and the tests with a
recorder. The core never knows which one it talks to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from actions.backup import BackupResult, NodeProgress
from actions.inventory import Inventory
from actions.minio import PurgeResult
from bot.core.model import Notice as Notice
from bot.core.model import RunView, SnapshotView, StepView
from bot.steps.close.report import FinalReport
from bot.steps.export.model import ImagesReport
from bot.steps.inventory.diff import InventoryDiff
from bot.steps.preflight.model import PreflightReport
from bot.steps.purge.model import ApprovalNotice, PurgeChoice
from bot.steps.restore.model import PluginRestore, Verification


@dataclass(frozen=True)
class Requester:
    """Who asked for something, and where, so that errors can go back to them."""

    user: str
    """A Slack user ID, or `cli:<login>` from the terminal."""
    channel: str | None = None
    """Where they asked (a Slack channel ID)."""


@dataclass(frozen=True)
class InventoryReport:
    """A recorded inventory, with what it is compared against."""

    snapshot: SnapshotView
    inventory: Inventory
    previous: SnapshotView | None
    """The snapshot recorded before this one, if any."""
    diff: InventoryDiff | None
    """The difference from `previous`."""


class Notifier(Protocol):
    """Receives what the engine did. Implementations must not raise for delivery problems they can log."""

    async def run_changed(self, run: RunView) -> dict[str, Any] | None:
        """Show the run's checklist; return a new notifier reference to store with the run, if any."""
        ...

    async def step_progress(self, run: RunView, step: StepView, text: str) -> None:
        """A running step has come further (may be called often; throttle delivery)."""
        ...

    async def inventory_recorded(self, run: RunView, step: StepView, report: InventoryReport) -> None:
        """An inventory was recorded and stored."""
        ...

    async def step_failed(self, run: RunView, step: StepView, requester: Requester) -> None:
        """A step failed; `step.error` says why, in words a person can act on."""
        ...

    async def backup_progress(self, run: RunView, step: StepView, nodes: Sequence[NodeProgress]) -> None:
        """Where every node's backup stands (called often; throttle delivery)."""
        ...

    async def backup_finished(self, run: RunView, step: StepView, result: BackupResult) -> None:
        """Every node's outcome: archive, size, entries, sha256, verified, problem."""
        ...

    async def request_refused(self, requester: Requester, reason: str, gist: str | None = None) -> None:
        """A request could not start (e.g. the step is already running); tell the requester. `gist`
        is the reason without what changes between two askings (`RunbookError.gist`)."""
        ...

    async def preflight_checked(self, run: RunView, step: StepView, report: PreflightReport) -> None:
        """The gates, each with what was found and what would satisfy it; custom images to acknowledge."""
        ...

    async def images_changed(self, run: RunView, step: StepView, report: ImagesReport) -> None:
        """Custom images exported or pushed so far, one line each, then the verdict (called as each
        image finishes: show it in place, throttled)."""
        ...

    async def unverified_packages_acknowledged(
        self, run: RunView, report: PreflightReport, user: str
    ) -> None:
        """An approver acknowledged the packages of the preflight record that have no verification file."""
        ...

    async def approval_changed(self, run: RunView, notice: ApprovalNotice) -> dict[str, str] | None:
        """Post the approval request (first call) or update it in place (count, closed state).

        Returns where it was posted, the first time, so that later updates and a restarted bot find it.
        """
        ...

    async def purge_finished(self, run: RunView, step: StepView, result: PurgeResult) -> None:
        """The bucket's size before and after, objects removed, emptiness, and the registry restart."""
        ...

    async def plugins_restored(self, run: RunView, step: StepView, restore: PluginRestore) -> None:
        """Every package's push: pushed or not, and the last lines of a failed one's output."""
        ...

    async def verification_finished(self, run: RunView, step: StepView, verification: Verification) -> None:
        """The pull check: checked, pullable, and every image that does not pull with its reason."""
        ...

    async def step_output(self, run: RunView, step: StepView, title: str, lines: Sequence[str]) -> None:
        """The newest lines of a script a step runs (already masked); called often, so throttle delivery."""
        ...

    async def run_closed(self, run: RunView, step: StepView, report: FinalReport) -> None:
        """The final report: bucket before and after, step durations, counts, approvers, what is left to do."""
        ...

    async def notice(self, run: RunView, notice: Notice) -> None:
        """A reminder or a word about the schedule, in the run's thread, mentioning its people."""
        ...

    async def purge_choice(self, run: RunView, choice: PurgeChoice) -> None:
        """The approved purge: "now" or "at the window's start", for the requester to choose."""
        ...
