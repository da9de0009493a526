"""The vocabulary of the two-person rule: request states, click outcomes, and a request as stored
(with the bucket as measured when it was made)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.steps.approval.fields import Fields
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
class BucketMeasure:
    """The bucket as `mc du` found it when the request was made, or why it could not be measured
    (bot/steps/approval/measure.py says why it is shown but not fingerprinted)."""

    at: datetime
    objects: int | None = None
    """Objects, or every object version when `versions` (delete markers never count)."""
    bytes: int | None = None
    versions: bool = False
    """Measured with `--versions`: the bucket is versioned, and the purge deletes every version."""
    problem: str | None = None
    """Why there are no numbers: a sentence for people (mc's or the exec's words), never a traceback."""

    @property
    def known(self) -> bool:
        """Both numbers were measured."""
        return self.objects is not None and self.bytes is not None

    def encode(self) -> dict[str, Any]:
        """The stored form (the request's `measured` column)."""
        return {
            "at": self.at.isoformat(),
            "objects": self.objects,
            "bytes": self.bytes,
            "versions": self.versions,
            "problem": self.problem,
        }

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> BucketMeasure:
        """From the stored form; ValueError names what is wrong."""
        fields = Fields(data, "measured", ("at", "objects", "bytes", "versions", "problem"))
        return cls(
            at=datetime.fromisoformat(fields.text("at")),
            objects=fields.maybe_integer("objects"),
            bytes=fields.maybe_integer("bytes"),
            versions=fields.flag("versions"),
            problem=fields.maybe_text("problem"),
        )


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
    measured: BucketMeasure | None = None
    """The bucket when the request was made (shown, not fingerprinted); None in older requests."""
