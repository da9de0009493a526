"""What the preflight leaves in the store: the evidence the purge gate and the final report rely on.

The acknowledgement of custom images is a conditional update, so that two people pressing the
button at once leave one audited acknowledgement.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from bot.steps.preflight.model import PreflightRecord
from bot.store.database import Database
from bot.store.schema import AuditRow, PreflightRow, aware, maybe_aware


class PreflightRecords:
    """What each preflight read, and the acknowledgement of its custom images."""

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
