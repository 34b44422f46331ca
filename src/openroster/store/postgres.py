"""PostgreSQL backend (psycopg 3): for several server processes on several machines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from openroster.store.base import Store
from openroster.store.sql import pipelined


class PostgresStore(Store):
    backend = "postgresql"
    poll_param = "%s"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        engine = create_engine(
            normalize_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
        )
        # A write transaction's lock and savepoints go with its next statement (sql.hold).
        pipelined(engine)
        super().__init__(engine, url)

    def _prepare_poll(self, driver_connection: Any) -> None:
        # Each poll must see the latest commit and must not sit idle in a transaction.
        driver_connection.autocommit = True

    def integrity_check(self) -> list[str]:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.rollback()
        return []

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "database": self.engine.url.database}


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")
