"""What the preflight and the purge leave behind, as the core hands them to notifiers (issue 4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from actions.packages import Coverage
from bot.core.model import Notice
from bot.steps.approval.model import RequestView
from bot.steps.preflight.gates import Gate
from bot.steps.schedule.windows import Window


@dataclass(frozen=True)
class PreflightRecord:
    """What one preflight read: the plugin directory, the registry, and the workloads' images."""

    id: int
    run_id: int
    recorded_at: datetime
    recorded_by: str
    installer_node: str
    plugin_dir: str
    packages: tuple[str, ...]
    """Every `.tgz` file name in the plugin directory."""
    registry: str
    """The registry that was read (`host:port`)."""
    repositories: dict[str, tuple[str, ...]]
    """Every repository and its tags, as the registry's catalog had them."""
    custom: tuple[str, ...]
    """Repositories that neither the installer nor a package restores (custom images)."""
    workload_images: tuple[str, ...]
    """Every image that a pod of the global cluster uses from the platform registry."""
    custom_ack_by: str | None = None
    custom_ack_at: datetime | None = None

    @property
    def tag_count(self) -> int:
        """How many tags the registry held."""
        return sum(len(tags) for tags in self.repositories.values())


@dataclass(frozen=True)
class PreflightReport:
    """The gates as judged now, with the record they were judged from."""

    record: PreflightRecord | None
    coverage: Coverage | None
    gates: tuple[Gate, ...]

    @property
    def passed(self) -> bool:
        """Every gate holds."""
        return all(g.passed for g in self.gates)

    @property
    def failed(self) -> tuple[Gate, ...]:
        """The gates that do not hold."""
        return tuple(g for g in self.gates if not g.passed)


@dataclass(frozen=True)
class ApprovalNotice:
    """An approval request as the channel sees it: the request, and the gates it was opened on."""

    request: RequestView
    gates: tuple[Gate, ...]
    ref: dict[str, str] | None = None
    """Where the notifier posted the request (for Slack: channel and ts), once it did."""


@dataclass(frozen=True)
class PurgeChoice:
    """What the requester may choose once the request is approved, when windows are in use."""

    request: RequestView
    inside: Window | None
    """The window now is in: "purge now" is allowed."""
    coming: Window | None
    """The next window: "purge at its start" is offered when the approval lasts until then."""
    note: Notice | None
    """Why a choice is not offered (e.g. the approval expires before the window starts)."""

    @property
    def can_schedule(self) -> bool:
        """The purge may be scheduled at the coming window's start."""
        return self.coming is not None and self.coming.start < self.request.expires_at
