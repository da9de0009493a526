"""The preflight records the registry's configuration and how its blob cache will be cleared.

Revision ID: 0005
Revises: 0004

`preflights` gains `registry_cache`: the storage driver, the cache type (`inmemory`, `redis`,
`none`), the redirect setting and the clearing decided from them (`restart`, `restart-on-node`,
`flush-redis`, or `cannot` with the reason), as `actions.registry_cache.CacheClearing` encodes it.
Nullable: a preflight stored before this revision has none, and its registry gate asks for a new
preflight.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the column."""
    with op.batch_alter_table("preflights") as batch:
        batch.add_column(sa.Column("registry_cache", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("preflights") as batch:
        batch.drop_column("registry_cache")
