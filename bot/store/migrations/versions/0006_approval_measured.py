"""An approval request keeps the bucket as `mc du` measured it when the request was made.

Revision ID: 0006
Revises: 0005

`approval_requests` gains `measured`: the objects and bytes (every version's on a versioned
bucket), when they were measured, or why they could not be, as
`bot.steps.approval.measure.BucketMeasure` encodes it. Shown to the approvers, not part of the
plan's fingerprint. Nullable: a request stored before this revision shows no size.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the column."""
    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(sa.Column("measured", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("measured")
