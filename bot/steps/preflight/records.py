"""What the preflight and the purge leave in the store, next to the runs and steps.

Kept apart from `Store` by meaning: these records are the evidence the purge gate and the
final report rely on, and the acknowledgement of custom images is a conditional update, so
that two people pressing the button at once leave one audited acknowledgement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from actions.minio import PurgeResult
from bot.steps.preflight.model import PreflightRecord
from bot.store.database import Database
from bot.store.schema import ApprovalRequestRow, AuditRow, PreflightRow, PurgeRow, aware, maybe_aware


class Records:
    """Preflight records, purge results, and where approval requests were posted."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save_preflight(self, run_id: int, step_id: int, record: PreflightRecord) -> PreflightRecord:
        """Store what a preflight read; returns it with its id."""
        with self._db.session() as s:
            row = PreflightRow(
                run_id=run_id,
                step_id=step_id,
                recorded_at=record.recorded_at,
                recorded_by=record.recorded_by,
                installer_node=record.installer_node,
                plugin_dir=record.plugin_dir,
                packages=list(record.packages),
                registry_address=record.registry,
                repositories={repo: list(tags) for repo, tags in record.repositories.items()},
                custom=list(record.custom),
                workload_images=list(record.workload_images),
            )
            s.add(row)
            s.flush()
            return _preflight(row)

    def latest_preflight(self, run_id: int) -> PreflightRecord | None:
        """The run's newest preflight record."""
        with self._db.session() as s:
            query = select(PreflightRow).where(PreflightRow.run_id == run_id).order_by(PreflightRow.id.desc())
            row = s.scalars(query.limit(1)).first()
            return None if row is None else _preflight(row)

    def preflight(self, preflight_id: int) -> PreflightRecord | None:
        """One preflight record."""
        with self._db.session() as s:
            row = s.get(PreflightRow, preflight_id)
            return None if row is None else _preflight(row)

    def acknowledge_custom(self, preflight_id: int, user: str) -> tuple[bool, PreflightRecord]:
        """Record who acknowledged the custom images; False when someone already had (it stays theirs)."""
        now = self._db.clock.now()
        with self._db.session() as s:
            moved = cast(
                CursorResult[Any],
                s.execute(
                    update(PreflightRow)
                    .where(PreflightRow.id == preflight_id, PreflightRow.custom_ack_by.is_(None))
                    .values(custom_ack_by=user, custom_ack_at=now)
                ),
            ).rowcount
            row = s.get_one(PreflightRow, preflight_id)
            s.refresh(row)
            if moved:
                s.add(
                    AuditRow(
                        at=now,
                        actor=user,
                        action="custom_images.acknowledged",
                        run_id=row.run_id,
                        detail={"preflight": row.id, "repositories": list(row.custom)},
                    )
                )
            return bool(moved), _preflight(row)

    def save_purge(self, run_id: int, step_id: int, request_id: int, result: PurgeResult) -> None:
        """Store what a purge did."""
        with self._db.session() as s:
            s.add(
                PurgeRow(
                    run_id=run_id,
                    step_id=step_id,
                    request_id=request_id,
                    result=dataclasses.asdict(result),
                    finished_at=self._db.clock.now(),
                )
            )

    def latest_purge(self, run_id: int) -> tuple[PurgeResult, datetime] | None:
        """The run's newest purge result and when it finished."""
        with self._db.session() as s:
            query = select(PurgeRow).where(PurgeRow.run_id == run_id).order_by(PurgeRow.id.desc())
            row = s.scalars(query.limit(1)).first()
            if row is None:
                return None
            data = dict(row.result)
            data["restarted"] = tuple(data.get("restarted") or ())
            return PurgeResult(**data), aware(row.finished_at)

    def audit(self, actor: str, action: str, run_id: int, detail: Mapping[str, Any]) -> None:
        """One line of the audit log for a decision outside the approval (e.g. a restore override)."""
        with self._db.session() as s:
            s.add(
                AuditRow(
                    at=self._db.clock.now(), actor=actor, action=action, run_id=run_id, detail=dict(detail)
                )
            )

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


def _preflight(row: PreflightRow) -> PreflightRecord:
    return PreflightRecord(
        id=row.id,
        run_id=row.run_id,
        recorded_at=aware(row.recorded_at),
        recorded_by=row.recorded_by,
        installer_node=row.installer_node,
        plugin_dir=row.plugin_dir,
        packages=tuple(row.packages),
        registry=row.registry_address,
        repositories={repo: tuple(tags) for repo, tags in row.repositories.items()},
        custom=tuple(row.custom),
        workload_images=tuple(row.workload_images),
        custom_ack_by=row.custom_ack_by,
        custom_ack_at=maybe_aware(row.custom_ack_at),
    )
