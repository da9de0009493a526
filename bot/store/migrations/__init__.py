"""The store's schema migrations (Alembic): `env.py`, and one module per revision under `versions/`.

`bot.store.migrate.upgrade` runs them at start-up; there is no alembic.ini. A change to
`bot/store/schema.py` needs a new revision here, written by hand with `op.*` calls, whose
`down_revision` is the newest one; tests/integration/test_migrations.py fails until the migrated
schema equals the models again.
"""
