"""A node's backup records what a live MinIO changed under it, what it left out, and its attempts.

Revision ID: 0003
Revises: 0002

`backups` gains `tolerated` (MinIO's bookkeeping that changed while tar read it, each with why that
is tolerated), `excluded` (what the archive leaves out, and why), `attempts` (2 when object data
changed during the first run) and `first_attempt` (what changed then). All nullable: a backup
stored before this revision reads back with none tolerated, none left out, and one attempt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the backup's new columns."""
    with op.batch_alter_table("backups") as batch:
        batch.add_column(sa.Column("tolerated", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("excluded", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("first_attempt", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("backups") as batch:
        for column in ("first_attempt", "attempts", "excluded", "tolerated"):
            batch.drop_column(column)
