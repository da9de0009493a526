"""The runner lease: which process runs the steps and the scheduler on this database.

Revision ID: 0004
Revises: 0003

One row (`name = 'runner'`) names the holder (a random id per process), its host and pid, and until
when it holds the lease; the holder renews it, and another process takes it over only once it has
expired (`bot/store/lease.py`). A new table: nothing stored before this revision changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the lease's table."""
    op.create_table(
        "runner_lease",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_table("runner_lease")
