"""What the approval request and the purge hand to notifiers: the request as posted, and the requester's choice."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.model import Notice
from bot.steps.approval.model import RequestView
from bot.steps.preflight.gates import Gate
from bot.steps.schedule.windows import Window


@dataclass(frozen=True)
class ApprovalNotice:
    """An approval request as the channel sees it: the request, and the gates it was opened on."""

    request: RequestView
    gates: tuple[Gate, ...]
    ref: dict[str, str] | None = None
    """Where the notifier posted the request (for Slack: channel and ts), once it did."""
    asking: tuple[str, ...] = ()
    """The approvers the request asks (user IDs and `@handle` groups), set only on the notice that
    posts it: they are mentioned in that post, never in the updates after it."""


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
