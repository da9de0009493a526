"""The audit log becomes a hash chain, and names its actors.

Revision ID: 0009
Revises: 0008

`audit` gains `actor_name` (the actor's name next to its ID), `prev` (the sha256 of the row before)
and `hash` (the sha256 of the row's canonical serialisation, `bot.audit.chain.canonical`). The rows
already there are chained in id order, so that `regclean audit --verify` checks them too; their
actor's name is known for the bot itself and for a local user (`cli:<login>`), not for a Slack user
(None). Nullable: a row without a hash is reported by the verification, never trusted.

Downgrading drops the three columns (and with them the chain).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.audit.chain import GENESIS, row_hash, utc_iso

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the columns, then chain the rows already there."""
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("actor_name", sa.String(128), nullable=True))
        batch.add_column(sa.Column("prev", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    audit = sa.table(
        "audit",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("run_id", sa.Integer()),
        sa.column("detail", sa.JSON()),
        sa.column("actor_name", sa.String()),
        sa.column("prev", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    prev = GENESIS
    rows = bind.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
    for row in rows:
        actor = str(row["actor"])
        name = (
            actor if actor == "regclean" else actor.removeprefix("cli:") if actor.startswith("cli:") else None
        )
        fields = {
            **row,
            "at": utc_iso(row["at"]),
            "actor_name": name,
            "detail": dict(row["detail"] or {}),
            "prev": prev,
        }
        prev = row_hash(fields)
        bind.execute(
            audit.update()
            .where(audit.c.id == row["id"])
            .values(actor_name=name, prev=fields["prev"], hash=prev)
        )


def downgrade() -> None:
    """Drop the chain and the names."""
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev")
        batch.drop_column("actor_name")
