"""What the export and the waivers leave in the store (docs/architecture.md, "Custom images").

A waiver is an insert under the unique key (run, tag), so a second waiver of a tag changes nothing
and keeps the first approver; each new one is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.exported import ImageOutcome
from bot.steps.export.model import CustomImages, ExportedTag, Waiver
from bot.store.database import Database
from bot.store.schema import AuditRow, ExportRow, WaiverRow, aware, maybe_aware


class ExportRecords:
    """Exports and waivers, by run."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save_export(
        self,
        run_id: int,
        step_id: int,
        location: str,
        exported: Sequence[ImageOutcome],
        verified: Sequence[ImageOutcome],
    ) -> list[ExportedTag]:
        """Store every tag of one export: what was written, and what reading it back found."""
        now: datetime = self._db.clock.now()
        checked = {o.tag: o for o in verified}
        with self._db.session() as s:
            rows = []
            for outcome in exported:
                image = outcome.image
                check = checked.get(outcome.tag)
                problem = outcome.problem or (check.problem if check is not None else "not verified")
                row = ExportRow(
                    run_id=run_id,
                    step_id=step_id,
                    location=location,
                    tag=outcome.tag,
                    digest=None if image is None else image.digest,
                    media_type=None if image is None else image.media_type,
                    manifests=None if image is None else image.manifests,
                    blobs=None if image is None else image.blobs,
                    bytes=None if image is None else image.bytes,
                    exported_at=now,
                    verified_at=now if outcome.ok and check is not None and check.ok else None,
                    problem=None if outcome.ok and check is not None and check.ok else problem,
                )
                s.add(row)
                rows.append(row)
            s.flush()
            return [_exported(row) for row in rows]

    def save_verification(self, run_id: int, verified: Sequence[ImageOutcome]) -> CustomImages:
        """Record a new reading back of the newest export of each tag; the run's state after it."""
        now: datetime = self._db.clock.now()
        with self._db.session() as s:
            latest = _latest_rows(s, run_id)
            for outcome in verified:
                row = latest.get(outcome.tag)
                if row is None:
                    continue
                row.verified_at = now if outcome.ok else None
                row.problem = None if outcome.ok else outcome.problem
            s.flush()
            return CustomImages({tag: _exported(row) for tag, row in latest.items()}, _waivers(s, run_id))

    def custom_images(self, run_id: int) -> CustomImages:
        """The newest export of each tag in the run, and its waivers."""
        with self._db.session() as s:
            latest = _latest_rows(s, run_id)
            return CustomImages({tag: _exported(row) for tag, row in latest.items()}, _waivers(s, run_id))

    def waive(self, run_id: int, tags: Sequence[str], approver: str) -> tuple[list[Waiver], list[Waiver]]:
        """Waive each tag for the run (audited); (new waivers, tags someone had waived already)."""
        now: datetime = self._db.clock.now()
        new: list[Waiver] = []
        for tag in dict.fromkeys(tags):
            try:
                with self._db.session() as s:
                    s.add(WaiverRow(run_id=run_id, tag=tag, approver=approver, at=now))
                    s.flush()
                    s.add(
                        AuditRow(
                            at=now,
                            actor=approver,
                            action="custom_image.waived",
                            run_id=run_id,
                            detail={"tag": tag},
                        )
                    )
                new.append(Waiver(tag, approver, now))
            except IntegrityError:
                pass
        with self._db.session() as s:
            known = _waivers(s, run_id)
        fresh = {w.tag for w in new}
        return new, [known[t] for t in dict.fromkeys(tags) if t not in fresh and t in known]


def _latest_rows(s: Session, run_id: int) -> dict[str, ExportRow]:
    rows = s.scalars(select(ExportRow).where(ExportRow.run_id == run_id).order_by(ExportRow.id)).all()
    return {row.tag: row for row in rows}


def _waivers(s: Session, run_id: int) -> dict[str, Waiver]:
    rows = s.scalars(select(WaiverRow).where(WaiverRow.run_id == run_id).order_by(WaiverRow.id)).all()
    return {row.tag: Waiver(row.tag, row.approver, aware(row.at)) for row in rows}


def _exported(row: ExportRow) -> ExportedTag:
    return ExportedTag(
        tag=row.tag,
        location=row.location,
        digest=row.digest,
        media_type=row.media_type,
        manifests=row.manifests,
        blobs=row.blobs,
        bytes=row.bytes,
        exported_at=aware(row.exported_at),
        verified_at=maybe_aware(row.verified_at),
        problem=row.problem,
    )
