"""Persistence: one interface (:class:`Store`), two backends (SQLite, PostgreSQL)."""

from __future__ import annotations

from openroster.store.base import Store
from openroster.store.changes import Change
from openroster.store.tx import ReadTx, Tx, WriteTx

#: Connections a PostgreSQL store keeps for reads and the event engine (and as many again on demand).
STORE_POOL_SIZE = 4


def open_store(url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = STORE_POOL_SIZE) -> Store:
    """Open the store at ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if url.startswith("sqlite"):
        from openroster.store.sqlite import SqliteStore

        return SqliteStore(url, synchronous=sqlite_synchronous)
    if url.startswith(("postgresql", "postgres:")):
        from openroster.store.postgres import PostgresStore

        return PostgresStore(url, pool_size=pool_size)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


__all__ = ["STORE_POOL_SIZE", "Change", "ReadTx", "Store", "Tx", "WriteTx", "open_store"]
