"""The scheduler's jobs as data: `scheduled_jobs` replaces APScheduler's `apscheduler_jobs`.

Revision ID: 0008
Revises: 0007

APScheduler's SQLAlchemy job store kept each job as a pickle, which it unpickled at start-up: a
crafted row ran code. The jobs now live in APScheduler's memory, and their definitions as data in
`scheduled_jobs` (`bot/store/jobs.py`, checked by `bot/scheduler.py` before anything runs).

The old rows are converted without reading their pickles: every job regclean made is a date job
whose id names its kind and subject (`expire-request-7`, `purge-at-window-7`, …) and whose
`next_run_time` column is its run time, and that is all a definition needs (a purge's `due` is its
run time; the grace follows from the kind). A row whose id is not one of those, or that has no run
time, is dropped with a log line naming it. Then `apscheduler_jobs` is dropped.

Downgrading drops `scheduled_jobs`: the release before starts with no jobs but its approvals'
expiries, which it schedules again from the open requests.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

log = logging.getLogger(__name__)

#: id prefix: (callable's name in the allow-list, misfire grace in seconds; None: however late), as
#: the release before this revision scheduled them
_KINDS: dict[str, tuple[str, int | None]] = {
    "expire-request": ("expire_request", None),
    "remind-expiry": ("remind_expiry", 60),
    "remind-window": ("remind_window", 60),
    "purge-at-window": ("purge_at_window", None),
    "step-overdue": ("step_overdue", 60),
}
_ID = re.compile(r"(?P<prefix>[a-z-]+)-(?P<subject>[0-9]{1,18})")


def upgrade() -> None:
    """Create `scheduled_jobs`, convert the old rows by id and run time, drop `apscheduler_jobs`."""
    jobs = op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("run_at", sa.String(40), nullable=False),
        sa.Column("misfire_grace", sa.Integer(), nullable=True),
    )
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("apscheduler_jobs"):
        return  # a database the scheduler never started on
    old = sa.table("apscheduler_jobs", sa.column("id", sa.String()), sa.column("next_run_time", sa.Float()))
    converted = [
        row
        for job_id, next_run in bind.execute(sa.select(old.c.id, old.c.next_run_time))
        if (row := _row(job_id, next_run))
    ]
    if converted:
        op.bulk_insert(jobs, converted)
    op.drop_table("apscheduler_jobs")


def _row(job_id: object, next_run: object) -> dict[str, Any] | None:
    match = _ID.fullmatch(job_id) if isinstance(job_id, str) else None
    kind = _KINDS.get(match["prefix"]) if match else None
    if match is None or kind is None or not isinstance(next_run, (int, float)):
        log.warning("scheduled job %.60r dropped: not a job regclean scheduled, or paused", job_id)
        return None
    subject = int(match["subject"])
    at = datetime.fromtimestamp(round(float(next_run), 6), UTC)
    name, grace = kind
    args: list[int | str] = [subject, at.isoformat()] if name == "purge_at_window" else [subject]
    return {
        "id": job_id,
        "name": name,
        "args": json.dumps(args),
        "run_at": at.isoformat(),
        "misfire_grace": grace,
    }


def downgrade() -> None:
    """Drop the definitions (see above)."""
    op.drop_table("scheduled_jobs")
