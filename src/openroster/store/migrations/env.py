"""Alembic environment: migrations run on the store's own engine."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from openroster.store.schema import metadata

#: Any constant: the advisory lock that lets one PostgreSQL client at a time upgrade the schema.
_MIGRATION_LOCK = 7_020_170_001

store = context.config.attributes["store"]

with store.engine.connect() as connection:
    if store.backend == "sqlite":
        connection.info["openroster_begin"] = "BEGIN IMMEDIATE"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=store.backend == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if store.backend == "postgresql":
            # Several processes starting at once (a rolling upgrade) take turns: the first
            # upgrades, the others then find the schema at head. SQLite's BEGIN IMMEDIATE does
            # the same for a database file.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        context.run_migrations()
    connection.commit()
