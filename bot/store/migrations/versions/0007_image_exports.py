"""Custom images survive the purge: what each export wrote, and the approvers' waivers.

Revision ID: 0007
Revises: 0006

`image_exports`: one row per custom tag an export wrote (tag, digest, media type, manifests, blobs,
bytes, where, when), updated when the export is verified again (`verified_at`, `problem`).
`image_waivers`: an approver's waiver of one tag in a run (unique per run and tag). Stored
acknowledgements of custom images (`preflights.custom_ack_by`) stay as they were and are not waivers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create both tables."""
    op.create_table(
        "image_exports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("step_id", sa.Integer(), sa.ForeignKey("steps.id"), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(128), nullable=True),
        sa.Column("media_type", sa.String(255), nullable=True),
        sa.Column("manifests", sa.Integer(), nullable=True),
        sa.Column("blobs", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("exported_at", _TZ, nullable=False),
        sa.Column("verified_at", _TZ, nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
    )
    op.create_index("ix_image_exports_run_id", "image_exports", ["run_id"])
    op.create_table(
        "image_waivers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("approver", sa.String(64), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.UniqueConstraint("run_id", "tag"),
    )
    op.create_index("ix_image_waivers_run_id", "image_waivers", ["run_id"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_image_waivers_run_id", "image_waivers")
    op.drop_table("image_waivers")
    op.drop_index("ix_image_exports_run_id", "image_exports")
    op.drop_table("image_exports")
