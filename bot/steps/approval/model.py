"""The vocabulary of the two-person rule: request states, click outcomes, and a request as stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.steps.approval.plan import Plan


class RequestState(StrEnum):
    """`open → approved → started`, or `open → rejected | expired | void`."""

    OPEN = "open"
    APPROVED = "approved"
    STARTED = "started"
    REJECTED = "rejected"
    EXPIRED = "expired"
    VOID = "void"


class Outcome(StrEnum):
    """What one click did."""

    COUNTED = "counted"
    """An approval that was counted; more are needed."""
    COMPLETED = "completed"
    """The approval that completed the request (exactly one click gets this)."""
    DUPLICATE = "duplicate"
    """This person had already approved; it counts once."""
    REFUSED = "refused"
    """Not allowed (see the reason)."""
    CLOSED = "closed"
    """The request is no longer open (see the reason)."""
    REJECTED = "rejected"
    """This click rejected the request."""


@dataclass(frozen=True)
class Click:
    """The outcome of a click, with a sentence for the person who clicked."""

    outcome: Outcome
    reason: str
    approvals: tuple[str, ...]
    """Who has approved so far, in order."""


@dataclass(frozen=True)
class RequestView:
    """An approval request as stored."""

    id: int
    run_id: int
    requester: str
    fingerprint: str
    plan: Plan
    required: int
    state: RequestState
    created_at: datetime
    expires_at: datetime
    approvals: tuple[str, ...]
    closed_by: str | None = None
    """Who closed the request (a rejecting approver, or `regclean` for expiry and void)."""
