"""Read back everything a store holds, to prove that a refused write changed nothing."""

from __future__ import annotations

from sqlalchemy import select

from openroster.core.directory import Directory
from openroster.store import schema

StoreRows = dict[str, list[tuple[object, ...]]]


def store_rows(d: Directory) -> StoreRows:
    """Every row of every table (the change log included), sorted, through the store's own schema."""
    out: StoreRows = {}
    with d.store.read() as tx:
        for table in schema.metadata.sorted_tables:
            out[table.name] = sorted((tuple(r) for r in tx.conn.execute(select(table)).all()), key=repr)
    return out
