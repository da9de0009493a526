"""The preflight records what violet shows and verifies of each package, and custom images by tag.

Revision ID: 0002
Revises: 0001

`preflights` gains `packages_shown` (`violet show --all` of each package: Name, Type, Version,
Artifact, RelateImages, or violet's error), `verification` (`violet verify`'s summary),
`verify_ack_by`/`verify_ack_at` (who acknowledged the packages that have no verification file)
and `custom_workloads` (each custom tag and the workloads that use it). All nullable: a preflight
stored before this revision has none of them, and reads back as such.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the preflight's new columns."""
    with op.batch_alter_table("preflights") as batch:
        batch.add_column(sa.Column("packages_shown", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("verification", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("verify_ack_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("verify_ack_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("custom_workloads", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("preflights") as batch:
        for column in (
            "custom_workloads",
            "verify_ack_at",
            "verify_ack_by",
            "verification",
            "packages_shown",
        ):
            batch.drop_column(column)
