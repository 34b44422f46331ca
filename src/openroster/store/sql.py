"""SQL helpers shared by the row modules of the store (nothing outside ``store`` uses them)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import fields
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, Table, func, insert, select

#: ``Connection.info`` key set while a write transaction is open on the connection:
#: reads that feed a write lock what they read (see ``store/users.get_users``).
WRITING = "openroster_writing"


E = TypeVar("E")


_STORED: dict[type, tuple[str, ...]] = {}


def _stored_fields(kind: type) -> tuple[str, ...]:
    """The fields of a dataclass entity that a row holds: those its constructor takes (fields with
    ``init=False`` are derived in memory, never stored)."""
    names = _STORED.get(kind)
    if names is None:
        names = _STORED[kind] = tuple(f.name for f in fields(kind) if f.init)
    return names


def column_values(entity: Any, *, without: Collection[str] = ()) -> dict[str, Any]:
    """A dataclass entity's fields as the values of the columns spelled the same (but ``without``).

    Callers add (or overwrite) the columns that are spelled or encoded differently."""
    return {name: getattr(entity, name) for name in _stored_fields(type(entity)) if name not in without}


def from_columns(kind: type[E], r: Mapping[str, Any], **given: Any) -> E:
    """A dataclass entity of ``kind`` from a row mapping whose columns are spelled as its fields;
    the fields in ``given`` take those values instead (columns spelled or decoded differently)."""
    taken = {name: r[name] for name in _stored_fields(kind) if name not in given}
    return kind(**taken, **given)


def row_reader(kind: type[E], **renamed: str) -> Callable[[Mapping[str, Any]], E]:
    """A fast reader for a hot path: a ``kind`` from a row mapping, each field taken as it is from
    the column spelled the same, or from the column ``renamed`` names for it (``order="sort_order"``).
    For fields that need decoding, use :func:`from_columns`."""
    pick = itemgetter(*(renamed.get(name, name) for name in _stored_fields(kind)))

    def read(r: Mapping[str, Any]) -> E:
        return kind(*pick(r))

    return read


def in_write(conn: Connection) -> bool:
    """Whether ``conn`` is inside a :meth:`Store.write` transaction."""
    return bool(conn.info.get(WRITING))


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in one statement (nothing when there are none)."""
    if rows:
        conn.execute(insert(table), list(rows))


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


def name_matches(column: Any, word: str, *, exact: bool) -> ColumnElement[bool]:
    """``column`` equals ``word`` (``exact``), or holds it anywhere, ignoring ASCII case, on both
    backends (SQLite's ``LIKE`` ignores case, PostgreSQL's does not: both sides are lowered)."""
    if exact:
        result: ColumnElement[bool] = column == word
        return result
    return func.lower(column).contains(word.lower(), autoescape=True)


def page_and_total(conn: Connection, ids: Select[Any], *, offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of ``ids`` (a one-column select, ordered), and how many there are in all."""
    page = [r[0] for r in conn.execute(ids.offset(offset).limit(limit)).all()]
    total = conn.execute(select(func.count()).select_from(ids.order_by(None).subquery())).scalar_one()
    return page, int(total)
