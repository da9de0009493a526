"""The schema as the last release without migrations created it (Base.metadata.create_all).

Revision ID: 0001
Revises: (none)

Every table and index is created only when missing: a database written by that release already
has them all, except perhaps the two partial unique indexes, which older databases got later
(the release created them with `checkfirst`). APScheduler's `apscheduler_jobs` table is not ours:
APScheduler creates it itself when the scheduler starts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the release's tables and indexes, those that are missing."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", _TZ, nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("notifier_ref", sa.JSON(), nullable=False),
        sa.Column("closed_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_runs_state", "runs", ["state"])
    op.create_table(
        "steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("finished_at", _TZ, nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_steps_run_id", "steps", ["run_id"])
    # At most one active run, and one running attempt of a step per run: the database decides races.
    _index("one_active_run", "runs", ["state"], unique=True, where="state = 'active'")
    _index("one_running_step", "steps", ["run_id", "name"], unique=True, where="state = 'running'")
    op.create_table(
        "inventories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_inventories_run_id", "inventories", ["run_id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "backups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(253), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("archive", sa.Text(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("finished_at", _TZ, nullable=False),
        sa.Column("copy", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_backups_run_id", "backups", ["run_id"])
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("closed_at", _TZ, nullable=True),
        sa.Column("message_ref", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_approval_requests_run_id", "approval_requests", ["run_id"])
    _index("ix_approval_requests_state", "approval_requests", ["state"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(64), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "approver"),  # a second click by the same person counts once
        sa.ForeignKeyConstraint(["request_id"], ["approval_requests.id"]),
        if_not_exists=True,
    )
    _index("ix_approvals_request_id", "approvals", ["request_id"])
    op.create_table(
        "preflights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("installer_node", sa.String(253), nullable=False),
        sa.Column("plugin_dir", sa.Text(), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("registry_address", sa.String(253), nullable=False),
        sa.Column("repositories", sa.JSON(), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("workload_images", sa.JSON(), nullable=False),
        sa.Column("custom_ack_by", sa.String(64), nullable=True),
        sa.Column("custom_ack_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_preflights_run_id", "preflights", ["run_id"])
    op.create_table(
        "purges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("finished_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["approval_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_purges_run_id", "purges", ["run_id"])
    op.create_table(
        "step_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    _index("ix_step_results_run_id", "step_results", ["run_id"])
    op.create_table(
        "windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start", _TZ, nullable=False),
        sa.Column("end", _TZ, nullable=False),
        sa.Column("declared_by", sa.String(64), nullable=False),
        sa.Column("declared_at", _TZ, nullable=False),
        sa.Column("cancelled_by", sa.String(64), nullable=True),
        sa.Column("cancelled_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Drop everything `upgrade` creates (the jobs table is APScheduler's and stays)."""
    for table in (
        "windows",
        "step_results",
        "purges",
        "preflights",
        "approvals",
        "approval_requests",
        "backups",
        "audit",
        "inventories",
        "steps",
        "runs",
    ):
        op.drop_table(table)


def _index(
    name: str, table: str, columns: list[str], *, unique: bool = False, where: str | None = None
) -> None:
    partial: dict[str, Any] = {}
    if where is not None:  # a partial index, in both dialects the store runs on
        partial = {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}
    op.create_index(name, table, columns, unique=unique, if_not_exists=True, **partial)
