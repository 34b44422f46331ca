"""SQL helpers shared by the row modules of the store (nothing outside ``store`` uses them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import Connection

#: ``Connection.info`` key set while a write transaction is open on the connection:
#: reads that feed a write lock what they read (see ``store/users.get_users``).
WRITING = "openroster_writing"


E = TypeVar("E")


def column_values(entity: Any, *, without: Collection[str] = ()) -> dict[str, Any]:
    """A dataclass entity's fields as the values of the columns spelled the same (but ``without``)."""
    return {f.name: getattr(entity, f.name) for f in fields(entity) if f.name not in without}


def from_columns(kind: type[E], row: Any) -> E:
    """A dataclass entity of ``kind`` from a row whose columns are spelled as its fields."""
    r = row._mapping
    return kind(**{f.name: r[f.name] for f in fields(kind)})  # type: ignore[arg-type]


def in_write(conn: Connection) -> bool:
    """Whether ``conn`` is inside a :meth:`Store.write` transaction."""
    return bool(conn.info.get(WRITING))


def upsert(
    conn: Connection,
    table: Any,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE``: atomic on both backends under concurrency."""
    if not rows:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt: Any = make(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: getattr(stmt.excluded, c) for c in update_columns}
    )
    conn.execute(stmt, list(rows))
