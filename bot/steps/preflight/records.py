"""What the preflight leaves in the store: the evidence the purge gate and the final report rely on.

The acknowledgement of packages without a verification file is a conditional update, so that two
people pressing the button at once leave one audited acknowledgement. (`custom_ack_by`, who
acknowledged custom images before they were exported or waived, is still read from older rows; it
waives nothing.)
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from actions.registry_cache import CacheClearing
from actions.violet_output import Shown, Verification
from bot.core.model import StepState
from bot.steps.preflight.model import PreflightRecord
from bot.store.database import Database
from bot.store.schema import AuditRow, PreflightRow, StepRow, aware, maybe_aware


class PreflightRecords:
    """What each preflight read, and the acknowledgement of its unverified packages."""

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
                packages_shown=[_encode_shown(shown) for shown in record.shown],
                verification=None
                if record.verification is None
                else _encode_verification(record.verification),
                custom_workloads={tag: list(users) for tag, users in record.custom_workloads.items()},
                registry_cache=None if record.registry_cache is None else record.registry_cache.encode(),
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

    def acknowledge_unverified(self, preflight_id: int, user: str) -> tuple[bool, PreflightRecord]:
        """Record who acknowledged the packages without a verification file; False when someone already had."""
        return self._acknowledge(
            preflight_id, user, "unverified_packages.acknowledged", PreflightRow.verify_ack_by,
            PreflightRow.verify_ack_at,
            lambda row: {"preflight": row.id, "packages": list((row.verification or {}).get("missing") or [])},
        )  # fmt: skip

    def _acknowledge(
        self,
        preflight_id: int,
        user: str,
        action: str,
        by: Any,
        at: Any,
        detail: Any,
    ) -> tuple[bool, PreflightRecord]:
        now: datetime = self._db.clock.now()
        with self._db.session() as s:
            moved = cast(
                CursorResult[Any],
                s.execute(
                    update(PreflightRow)
                    .where(PreflightRow.id == preflight_id, by.is_(None))
                    .values({by.key: user, at.key: now})
                ),
            ).rowcount
            row = s.get_one(PreflightRow, preflight_id)
            s.refresh(row)
            if moved:
                s.add(AuditRow(at=now, actor=user, action=action, run_id=row.run_id, detail=detail(row)))
            return bool(moved), _preflight(row)

    def restate_gates(self, step_id: int, summary: str) -> bool:
        """The preflight step's line on the checklist, said again as the gates hold now; a step that did
        not succeed keeps what it said. Whether the line changed."""
        with self._db.session() as s:
            result = s.execute(
                update(StepRow)
                .where(
                    StepRow.id == step_id,
                    StepRow.state == StepState.SUCCEEDED,
                    StepRow.summary.is_distinct_from(summary),
                )
                .values(summary=summary)
            )
            return bool(cast(CursorResult[Any], result).rowcount)


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
        shown=tuple(_decode_shown(item) for item in row.packages_shown or ()),
        verification=None if row.verification is None else _decode_verification(row.verification),
        verify_ack_by=row.verify_ack_by,
        verify_ack_at=maybe_aware(row.verify_ack_at),
        custom_workloads={tag: tuple(users) for tag, users in (row.custom_workloads or {}).items()},
        registry_cache=None if row.registry_cache is None else CacheClearing.decode(row.registry_cache),
    )


def _encode_shown(shown: Shown) -> dict[str, Any]:
    return {**dataclasses.asdict(shown), "relate_images": list(shown.relate_images)}


def _decode_shown(item: dict[str, Any]) -> Shown:
    fields = {f.name for f in dataclasses.fields(Shown)}
    known = {k: v for k, v in item.items() if k in fields}
    return Shown(**{**known, "relate_images": tuple(known.get("relate_images") or ())})


def _encode_verification(verification: Verification) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(verification).items()}


def _decode_verification(item: dict[str, Any]) -> Verification:
    return Verification(
        gpg=tuple(item.get("gpg") or ()),
        checksum=tuple(item.get("checksum") or ()),
        failed=tuple(item.get("failed") or ()),
        missing=tuple(item.get("missing") or ()),
        error=item.get("error"),
    )
