"""What the approval request and the purge hand to notifiers: the request as posted, and the requester's choice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.model import Notice, RunView, StepName, StepView
from bot.steps.approval.model import RequestState, RequestView
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
    self_approval: bool = False
    """May the requester's own approval count (REGCLEAN_ALLOW_SELF_APPROVAL), to say which rule holds."""
    in_use: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Waived custom tags that running workloads use (`namespace/name`), as the preflight found them:
    the images that will not come back and that something needs."""
    purge: StepView | None = None
    """The purge this request started, as it stands (running, or how it ended); None before it starts."""

    @property
    def rule(self) -> str:
        """The approval rule in force, in a sentence."""
        required = self.request.required
        if required >= 2:
            who = "the requester may be one of them" if self.self_approval else "not counting the requester"
            return f"{required} distinct approvers must approve this exact plan ({who})."
        if self.self_approval:
            return (
                "One approval, which may be the requester's own, starts the purge: the two-person rule "
                "is off (REGCLEAN_SINGLE_APPROVER_ACCEPTED)."
            )
        return (
            "One approver other than the requester must approve this exact plan "
            "(REGCLEAN_APPROVALS_REQUIRED=1, accepted with REGCLEAN_SINGLE_APPROVER_ACCEPTED)."
        )


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


def purge_of(request: RequestView, run: RunView) -> StepView | None:
    """The purge a started request set going: the run's newest purge step begun after the request was
    made (a run purges at most once per started request, and a request starts at most once)."""
    if request.state != RequestState.STARTED:
        return None
    purges = [s for s in run.steps if s.name == StepName.PURGE and s.started_at >= request.created_at]
    return purges[-1] if purges else None
