"""The two-person rule: who may approve, and transitions that happen exactly once
(docs/architecture.md, "The two-person rule").

Every decision is a conditional UPDATE in the database (`… WHERE state = 'open'`), never an
in-memory lock, so duplicate clicks, Slack's retries, two clicks in the same millisecond and
two bot processes sharing the database all end in one outcome. The caller that moves a
request from `approved` to `started` is the one, and the only one, that may start the purge.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.steps.approval.model import BucketMeasure, Click, Outcome, RequestState, RequestView
from bot.steps.approval.plan import Plan
from bot.store.database import Database
from bot.store.schema import ApprovalRequestRow, ApprovalRow, AuditRow, aware


class Approvals:
    """Approval requests and their transitions, in the store's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def open(
        self,
        run_id: int,
        requester: str,
        plan: Plan,
        required: int,
        ttl: timedelta,
        measured: BucketMeasure | None = None,
    ) -> RequestView:
        """Open a request for a plan (with the bucket as measured); an older open request of the run becomes void."""
        now = self._db.clock.now()
        with self._db.session() as s:
            s.execute(
                update(ApprovalRequestRow)
                .where(ApprovalRequestRow.run_id == run_id, ApprovalRequestRow.state == RequestState.OPEN)
                .values(state=RequestState.VOID, closed_by="regclean", closed_at=now)
            )
            row = ApprovalRequestRow(
                run_id=run_id,
                requester=requester,
                fingerprint=plan.fingerprint,
                plan=plan.encode(),
                required=required,
                state=RequestState.OPEN,
                created_at=now,
                expires_at=now + ttl,
                measured=measured.encode() if measured is not None else None,
            )
            s.add(row)
            s.flush()
            _audit(s, now, requester, "purge.requested", row, {"measured": row.measured})
            return _view(s, row)

    def approve(self, request_id: int, user: str, *, may_approve: bool, allow_self: bool) -> Click:
        """Count one approval; the click that reaches the required number completes the request."""
        now = self._db.clock.now()
        with self._db.session() as s:
            if s.get(ApprovalRequestRow, request_id) is None:
                return _unknown(request_id)
            if _expire_if_due(s, now, request_id):  # a click after the deadline closes the request itself
                _audit(s, now, "regclean", "purge.expired", s.get_one(ApprovalRequestRow, request_id), {})
            row = s.get_one(ApprovalRequestRow, request_id)
            s.refresh(row)
            refused = self._refusal(row, user, may_approve, allow_self)
            if refused is not None:
                _audit(s, now, user, "purge.approve.refused", row, {"reason": refused})
                return Click(Outcome.REFUSED, refused, _approvers(s, request_id))
        try:
            with self._db.session() as s:
                s.execute(insert(ApprovalRow).values(request_id=request_id, approver=user, at=now))
                row = s.get_one(ApprovalRequestRow, request_id)
                _audit(s, now, user, "purge.approved", row, {})
        except IntegrityError:
            with self._db.session() as s:
                row = s.get_one(ApprovalRequestRow, request_id)
                _audit(s, now, user, "purge.approve.duplicate", row, {})
                return Click(
                    Outcome.DUPLICATE, "You have already approved; it counts once.", _approvers(s, request_id)
                )
        with self._db.session() as s:
            count = select(func.count()).select_from(ApprovalRow).where(ApprovalRow.request_id == request_id)
            moved = _rowcount(
                s.execute(
                    update(ApprovalRequestRow)
                    .where(
                        ApprovalRequestRow.id == request_id,
                        ApprovalRequestRow.state == RequestState.OPEN,
                        ApprovalRequestRow.expires_at > now,
                        count.scalar_subquery() >= ApprovalRequestRow.required,
                    )
                    .values(state=RequestState.APPROVED)
                )
            )
            if not moved and _expire_if_due(s, now, request_id):
                _audit(s, now, "regclean", "purge.expired", s.get_one(ApprovalRequestRow, request_id), {})
            row = s.get_one(ApprovalRequestRow, request_id)
            s.refresh(row)
            approvers = _approvers(s, request_id)
            if moved:
                _audit(s, now, user, "purge.approval.complete", row, {"approvers": list(approvers)})
                return Click(Outcome.COMPLETED, f"{len(approvers)} of {row.required} approved.", approvers)
            if row.state != RequestState.OPEN:
                return Click(Outcome.CLOSED, _closed(row), approvers)
            return Click(Outcome.COUNTED, f"{len(approvers)} of {row.required} approved.", approvers)

    def reject(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        """One approver's Reject closes an open request."""
        now = self._db.clock.now()
        with self._db.session() as s:
            row = s.get(ApprovalRequestRow, request_id)
            if row is None:
                return _unknown(request_id)
            if not may_approve:
                reason = "Only approvers may reject a purge request."
                _audit(s, now, user, "purge.reject.refused", row, {"reason": reason})
                return Click(Outcome.REFUSED, reason, _approvers(s, request_id))
            moved = _rowcount(
                s.execute(
                    update(ApprovalRequestRow)
                    .where(ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == RequestState.OPEN)
                    .values(state=RequestState.REJECTED, closed_by=user, closed_at=now)
                )
            )
            s.refresh(row)
            if not moved:
                return Click(Outcome.CLOSED, _closed(row), _approvers(s, request_id))
            _audit(s, now, user, "purge.rejected", row, {})
            return Click(Outcome.REJECTED, "You rejected the purge request.", _approvers(s, request_id))

    def expire(self, request_id: int) -> bool:
        """The scheduler's job: close the request if it is still open and its time is up."""
        now = self._db.clock.now()
        with self._db.session() as s:
            moved = _expire_if_due(s, now, request_id)
            if moved:
                _audit(s, now, "regclean", "purge.expired", s.get_one(ApprovalRequestRow, request_id), {})
            return moved

    def lapse(self, request_id: int) -> bool:
        """The deadline passed while an approved request waited to start (for its window): it expires.

        Conditional like `claim_start`, so of the two at most one moves the request.
        """
        now = self._db.clock.now()
        with self._db.session() as s:
            moved = _expire_if_due(s, now, request_id, RequestState.APPROVED)
            if moved:
                _audit(
                    s, now, "regclean", "purge.approval.lapsed", s.get_one(ApprovalRequestRow, request_id), {}
                )
            return bool(moved)

    def claim_start(self, request_id: int, current_fingerprint: str) -> bool:
        """Move an approved request to started; True for exactly one caller, and only if the plan is unchanged.

        A plan that changed since the approval voids the request instead.
        """
        now = self._db.clock.now()
        with self._db.session() as s:
            moved = _rowcount(
                s.execute(
                    update(ApprovalRequestRow)
                    .where(
                        ApprovalRequestRow.id == request_id,
                        ApprovalRequestRow.state == RequestState.APPROVED,
                        ApprovalRequestRow.fingerprint == current_fingerprint,
                    )
                    .values(state=RequestState.STARTED)
                )
            )
            row = s.get_one(ApprovalRequestRow, request_id)
            if moved:
                _audit(s, now, "regclean", "purge.request.claimed", row, {})
                return True
            if (
                row.state in (RequestState.OPEN, RequestState.APPROVED)
                and row.fingerprint != current_fingerprint
            ):
                s.execute(
                    update(ApprovalRequestRow)
                    .where(ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == row.state)
                    .values(state=RequestState.VOID, closed_by="regclean", closed_at=now)
                )
                _audit(s, now, "regclean", "purge.void", row, {"now": current_fingerprint})
            return False

    def get(self, request_id: int) -> RequestView:
        """A request as it stands."""
        with self._db.session() as s:
            return _view(s, s.get_one(ApprovalRequestRow, request_id))

    def exists(self, request_id: int) -> bool:
        """Whether there is a request with this id."""
        with self._db.session() as s:
            return s.get(ApprovalRequestRow, request_id) is not None

    def set_request_ref(self, request_id: int, ref: Mapping[str, str]) -> None:
        """Where the approval request was posted."""
        with self._db.session() as s:
            s.execute(
                update(ApprovalRequestRow)
                .where(ApprovalRequestRow.id == request_id)
                .values(message_ref=dict(ref))
            )

    def request_ref(self, request_id: int) -> dict[str, str] | None:
        """Where the approval request was posted, if it was."""
        with self._db.session() as s:
            row = s.get(ApprovalRequestRow, request_id)
            return None if row is None or not row.message_ref else dict(row.message_ref)

    def open_requests(self) -> list[tuple[int, datetime]]:
        """Every request still open, with its deadline (to schedule expiry after a restart)."""
        with self._db.session() as s:
            rows = s.execute(
                select(ApprovalRequestRow.id, ApprovalRequestRow.expires_at).where(
                    ApprovalRequestRow.state == "open"
                )
            )
            return [(rid, aware(at)) for rid, at in rows]

    def latest_request(self, run_id: int) -> int | None:
        """The id of the run's newest approval request."""
        with self._db.session() as s:
            query = select(ApprovalRequestRow.id).where(ApprovalRequestRow.run_id == run_id)
            return s.scalars(query.order_by(ApprovalRequestRow.id.desc()).limit(1)).first()

    @staticmethod
    def _refusal(row: ApprovalRequestRow, user: str, may_approve: bool, allow_self: bool) -> str | None:
        # The deadline is enforced by the state alone (see _expire_if_due), never by a second
        # reading of the clock that could disagree with the first.
        if row.state != RequestState.OPEN:
            return _closed(row)
        if not may_approve:
            return "Only approvers may approve a purge."
        if user == row.requester and not allow_self:
            return "You asked for this purge, so you cannot approve it; another approver must."
        return None


def _expire_if_due(
    s: Session, now: datetime, request_id: int, state: RequestState = RequestState.OPEN
) -> bool:
    """In `state` (open, or approved and waiting) and past its deadline → expired; True if this call
    made the change."""
    return bool(
        _rowcount(
            s.execute(
                update(ApprovalRequestRow)
                .where(
                    ApprovalRequestRow.id == request_id,
                    ApprovalRequestRow.state == state,
                    ApprovalRequestRow.expires_at <= now,
                )
                .values(state=RequestState.EXPIRED, closed_by="regclean", closed_at=now)
            )
        )
    )


def _closed(row: ApprovalRequestRow) -> str:
    return {
        RequestState.APPROVED: "This request is already approved.",
        RequestState.STARTED: "The purge of this request has already started.",
        RequestState.REJECTED: "This request was rejected; its message says by whom.",
        RequestState.EXPIRED: "This request has expired; ask for a new one.",
        RequestState.VOID: "The plan changed since this request was made, so it is void; ask for a new one.",
    }.get(RequestState(row.state), "This request is closed.")


def _unknown(request_id: int) -> Click:
    """A click naming a request that does not exist (a button Slack never showed)."""
    return Click(Outcome.REFUSED, f"There is no purge request #{request_id}.", ())


def _approvers(s: Session, request_id: int) -> tuple[str, ...]:
    query = select(ApprovalRow.approver).where(ApprovalRow.request_id == request_id).order_by(ApprovalRow.id)
    return tuple(s.scalars(query))


def _rowcount(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _audit(
    s: Session, now: datetime, actor: str, action: str, row: ApprovalRequestRow, detail: dict[str, Any]
) -> None:
    s.add(
        AuditRow(
            at=now,
            actor=actor,
            action=action,
            run_id=row.run_id,
            detail={"request": row.id, "fingerprint": row.fingerprint, **detail},
        )
    )


def _view(s: Session, row: ApprovalRequestRow) -> RequestView:
    return RequestView(
        row.id,
        row.run_id,
        row.requester,
        row.fingerprint,
        Plan.decode(row.plan),
        row.required,
        RequestState(row.state),
        aware(row.created_at),
        aware(row.expires_at),
        _approvers(s, row.id),
        row.closed_by,
        BucketMeasure.decode(row.measured) if row.measured else None,
    )
