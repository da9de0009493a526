"""Archives that an approval request named are kept as they are (docs/architecture.md, "Backup").

A request shows the approvers each node's archive by path, size and sha256, and the purge relies
on it as the way back. A later `/regclean backup` writing the runbook's name (`<ip>-minio.tar`)
again would replace that archive in place, so a node whose archive at that path is named in any
request (of any run, whatever became of the request) gets a name of its own for this backup.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from actions.backup import BackupRequest
from bot.store.database import Database
from bot.store.schema import ApprovalRequestRow, BackupRow, PurgeRow


class KeptArchives:
    """The archives named in approval requests, read from their stored plans."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def named(self) -> frozenset[tuple[str, str]]:
        """`(node address, archive path)` of every archive any request's plan names."""
        with self._db.session() as session:
            plans = session.scalars(select(ApprovalRequestRow.plan)).all()
        return frozenset(
            (str(b.get("address")), str(b.get("archive")))
            for plan in plans
            for b in (plan.get("backups") or [] if isinstance(plan, dict) else [])
            if isinstance(b, dict)
        )

    def purged_step(self, run_id: int) -> int | None:
        """The backup step whose archives the run's newest purge was approved with (the state before
        the purge, which a rollback goes back to), or None when the run has no purge."""
        with self._db.session() as session:
            plan = session.scalars(
                select(ApprovalRequestRow.plan)
                .join(PurgeRow, PurgeRow.request_id == ApprovalRequestRow.id)
                .where(PurgeRow.run_id == run_id)
                .order_by(PurgeRow.id.desc())
            ).first()
            backups = plan.get("backups") if isinstance(plan, dict) else None
            if not backups or not isinstance(backups[0], dict):
                return None
            first = backups[0]
            return session.scalars(
                select(BackupRow.step_id)
                .where(BackupRow.run_id == run_id)
                .where(BackupRow.address == str(first.get("address")))
                .where(BackupRow.archive == str(first.get("archive")))
                .where(BackupRow.sha256 == first.get("sha256"))
                .order_by(BackupRow.step_id.desc())
            ).first()


def keep_apart(
    request: BackupRequest, named: frozenset[tuple[str, str]], run_id: int, step_id: int
) -> BackupRequest:
    """The request with a name of this backup's own for every node whose archive path is named."""
    nodes = tuple(
        dataclasses.replace(spec, archive_name=f"{spec.target.address}-minio.run{run_id}.step{step_id}.tar")
        if (spec.target.address, spec.archive) in named
        else spec
        for spec in request.nodes
    )
    return dataclasses.replace(request, nodes=nodes)
