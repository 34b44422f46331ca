"""Alembic environment: migrations run on the store's own engine."""

from __future__ import annotations

from alembic import context

from openroster.store.schema import metadata

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
        context.run_migrations()
    connection.commit()
