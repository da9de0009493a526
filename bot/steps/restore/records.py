"""What the restore and the verification leave in the store: per-package pushes and pull checks."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from bot.steps.restore.model import ImageCheck, PackagePush, PluginRestore, Verification
from bot.store.database import Database
from bot.store.schema import ResultRow


class RestoreRecords:
    """Plugin pushes and verifications, by run."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save_plugins(self, run_id: int, step_id: int, restore: PluginRestore) -> None:
        """Store every package's outcome of a restore-plugins step."""
        self._save(run_id, step_id, "plugins", {"pushes": [dataclasses.asdict(p) for p in restore.pushes]})

    def latest_plugins(self, run_id: int) -> PluginRestore | None:
        """The run's newest plugin restore."""
        data = self._latest(run_id, "plugins")
        if data is None:
            return None
        return PluginRestore(tuple(PackagePush(**{**p, "tail": tuple(p["tail"])}) for p in data["pushes"]))

    def save_verification(self, run_id: int, step_id: int, verification: Verification) -> None:
        """Store a pull check."""
        self._save(run_id, step_id, "verification", dataclasses.asdict(verification))

    def latest_verification(self, run_id: int) -> Verification | None:
        """The run's newest pull check."""
        data = self._latest(run_id, "verification")
        if data is None:
            return None
        return Verification(data["scope"], tuple(ImageCheck(**c) for c in data["checks"]))

    def _save(self, run_id: int, step_id: int, kind: str, result: dict[str, Any]) -> None:
        with self._db.session() as s:
            s.add(
                ResultRow(run_id=run_id, step_id=step_id, kind=kind, result=result, at=self._db.clock.now())
            )

    def _latest(self, run_id: int, kind: str) -> dict[str, Any] | None:
        with self._db.session() as s:
            query = select(ResultRow.result).where(ResultRow.run_id == run_id, ResultRow.kind == kind)
            row = s.scalars(query.order_by(ResultRow.id.desc()).limit(1)).first()
            return None if row is None else dict(row)
