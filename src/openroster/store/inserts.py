"""Inserts and upserts of many rows in few statements, shared by the row modules of the store: one
multi-row statement (SQLite), arrays through ``unnest`` (PostgreSQL), or the driver's ``executemany``
of a statement compiled once."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    insert,
)


def insert_many(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, as_given: bool = False
) -> None:
    """Insert ``rows`` into ``table`` in one statement (nothing when there are none). Every row has
    the columns of the first. ``as_given``: every value is of the type the driver takes as it is
    (a float column's as ``float``, a binary one's as ``bytes``), so no column needs SQLAlchemy's
    conversion and the rows go to the driver's ``executemany`` as they are."""
    if rows:
        _execute_rows(conn, table, rows, (), (), as_given=as_given)


#: :func:`insert_values` runs fewer rows than this through ``executemany`` of the one-row statement.
_FEWEST_A_STATEMENT = 64

#: The most parameters :func:`insert_values` gives a statement: SQLite's default limit (since
#: 3.32). A build's higher limit (Debian's: 250,000) would make a full statement's text some
#: 0.8 MB (and the statement the driver keeps prepared for it larger): 1,365 users a statement.
MOST_PARAMS = 32_766


def insert_values(
    execute: Callable[[str, Any], object],
    executemany: Callable[[str, list[Any]], object],
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    max_params: int,
    most: int | None = None,
) -> None:
    """SQLite: insert ``rows`` (tuples in ``columns`` order) many a statement, ``INSERT ... VALUES
    (...), (...)``, with at most ``max_params`` parameters each (SQLite's limit; at most
    :data:`MOST_PARAMS`): one step of SQLite's a statement, run without the interpreter lock, where
    ``executemany`` steps a one-row statement once a row and takes the lock back after each.

    The rows a statement are bucketed, so a table has few statement texts, which the driver
    prepares once and keeps in its statement cache (128 by default): as many rows as the limit
    allows (at most ``most``) while that many are left, then the powers of two (... 256, 128, 64)
    the count left holds, then the last fewer than 64 by ``executemany`` (``execute`` gets a
    statement's parameters as a tuple, ``executemany`` a list of rows). So a write of one row runs
    the same one-row text every time, and one of 100 rows runs the 64-row text and the one-row one.

    The statements of the most rows (the full ones) write the columns no row of the call has a
    value in as NULL in their text, not as parameters: the driver binds None as it binds a type it
    may have to adapt (a dictionary lookup and an attribute lookup on the value, with the
    interpreter lock held), and a new user's row has a dozen empty columns (100,000 of them:
    0.52-0.54 -> 0.29-0.30 s CPU; the import's writer thread shares that lock with the checks).
    There is such a text for each set of empty columns, so only the full statements, which carry
    nearly all of a large write's rows, have one (the rest run the texts every value a parameter),
    and those texts have a small cache of their own (:func:`_null_values_sql`)."""
    width = len(columns)
    full = max(1, min(min(max_params, MOST_PARAMS) // width, most or max_params))
    many = len(rows) >= full and len(rows) >= _FEWEST_A_STATEMENT
    nulls = _null_columns(rows) if many else ()
    pick = _without(width, nulls)
    start, left = 0, len(rows)
    while left:
        size = full if left >= full else 1 << (left.bit_length() - 1)
        if size < _FEWEST_A_STATEMENT and size != full:
            executemany(_values_sql(table, columns, 1), list(rows[start:]))
            return
        part = rows[start : start + size]
        if size == full and pick is not None:
            execute(
                _null_values_sql(table, columns, size, nulls), tuple(chain.from_iterable(map(pick, part)))
            )
        else:
            execute(_values_sql(table, columns, size), tuple(chain.from_iterable(part)))
        start += size
        left -= size


def _null_columns(rows: Sequence[Sequence[Any]]) -> tuple[int, ...]:
    """The positions of the columns that are None in every row."""
    n = len(rows)
    return tuple(
        c for c, v in enumerate(rows[0]) if v is None and list(map(itemgetter(c), rows)).count(None) == n
    )


def _without(width: int, nulls: tuple[int, ...]) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """A row's values but those at ``nulls`` (None when there are none to leave out)."""
    if not nulls:
        return None
    keep = [c for c in range(width) if c not in nulls]
    if len(keep) == 1:
        only = keep[0]
        return lambda row: (row[only],)
    if not keep:
        return lambda row: ()
    return itemgetter(*keep)


def _text(table: str, columns: tuple[str, ...], size: int, nulls: tuple[int, ...]) -> str:
    one = f"({', '.join('NULL' if c in nulls else '?' for c in range(len(columns)))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * size)}"


@functools.lru_cache(maxsize=128)
def _values_sql(table: str, columns: tuple[str, ...], size: int) -> str:
    """A statement's text, every value a parameter, made once (a table's few sizes: the texts of
    a table take at most about twice its full one, some 100-200 kB)."""
    return _text(table, columns, size, ())


@functools.lru_cache(maxsize=16)
def _null_values_sql(table: str, columns: tuple[str, ...], size: int, nulls: tuple[int, ...]) -> str:
    """A full statement's text with the columns at ``nulls`` NULL, made once: a small cache, as
    the empty columns vary with the rows a server is given (16 texts of about 100-200 kB)."""
    return _text(table, columns, size, nulls)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE``: atomic on both backends under concurrency. Every
    row has the columns of the first."""
    if rows:
        _execute_rows(conn, table, rows, tuple(key), tuple(update_columns), as_given=False)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement of :func:`_execute_rows`, compiled once: the driver's SQL and, when its
    parameters are positional, the columns in their order."""

    sql: str
    order: tuple[str, ...] | None


#: :func:`_execute_rows`'s statements by (dialect, table, columns, key, update columns); None: one
#: that SQLAlchemy must run (a column whose value it converts, or a default it fills in).
_COMPILED: dict[tuple[Any, ...], _Compiled | None] = {}


def _execute_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: tuple[str, ...],
    update_columns: tuple[str, ...],
    *,
    as_given: bool,
) -> None:
    """INSERT ``rows`` (an upsert on ``key`` when given) as one executemany.

    When no column needs SQLAlchemy (a value it converts for the driver, or a default it computes
    for a column not given) the statement is compiled once and the rows go to the driver's
    ``executemany`` as they are: SQLAlchemy's handling of each row's parameters is most of the
    cost of a batch of a few hundred rows."""
    columns = tuple(rows[0])
    compiled = _compile(conn, table, columns, key, update_columns, as_given=as_given)
    if compiled is None:
        conn.execute(_statement(conn.dialect.name, table, key, update_columns), list(rows))
    elif len(rows) > 1 and conn.dialect.name == "postgresql" and (update_columns or not key):
        _execute_arrays(conn, table, rows, columns, key, update_columns)
    elif compiled.order is None:
        conn.exec_driver_sql(compiled.sql, [dict(r) for r in rows])
    else:
        # A row's values in the statement's order, taken in C (a generator a row cost more than the
        # driver's own work on it); one column's getter gives the value itself, not a tuple.
        order = compiled.order
        take = itemgetter(*order)
        conn.exec_driver_sql(
            compiled.sql, [(take(r),) for r in rows] if len(order) == 1 else list(map(take, rows))
        )


_UNSEEN: Any = object()

#: :func:`_execute_arrays`'s statements by (table, columns, key, update columns).
_ARRAYS: dict[tuple[Any, ...], str] = {}


def _execute_arrays(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    columns: tuple[str, ...],
    key: tuple[str, ...],
    update_columns: tuple[str, ...],
) -> None:
    """:func:`_execute_rows` on PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays)``, a column
    an array, instead of an ``executemany`` (one round trip either way, but one statement for the
    server to run instead of one a row: 250 rows of a batch of attribute values took it about 30
    µs each). An upsert's rows of one key are merged first as ``executemany`` leaves them, the
    updated columns taken from the last (one statement may not update a row twice)."""
    if key:
        merged: dict[tuple[Any, ...], Mapping[str, Any]] = {}
        for r in rows:
            k = tuple(r[c] for c in key)
            had = merged.get(k)
            merged[k] = r if had is None else {**had, **{c: r[c] for c in update_columns}}
        rows = list(merged.values())
    cache_key = (table.name, columns, key, update_columns)
    statement = _ARRAYS.get(cache_key)
    if statement is None:
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        arrays = ", ".join(f"%({c})b::{unsized(table.c[c].type).compile(dialect=dialect)}[]" for c in columns)
        into = f"{dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, columns))})"
        statement = f"INSERT INTO {into} SELECT * FROM unnest({arrays})"
        if key:
            updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update_columns)
            statement += f" ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE SET {updates}"
        _ARRAYS[cache_key] = statement
    conn.exec_driver_sql(statement, {c: [r[c] for r in rows] for c in columns})


def unsized(column_type: Any) -> Any:
    """``column_type`` without its length (``VARCHAR(64)`` as ``VARCHAR``): an explicit cast to a
    sized string cuts an over-long value silently, where the INSERT's own assignment to the column
    refuses it (``StringDataRightTruncation``, as one row or ``executemany`` gets)."""
    if getattr(column_type, "length", None) is None:
        return column_type
    plain = copy.copy(column_type)
    plain.length = None
    return plain


def _statement(dialect_name: str, table: Table, key: tuple[str, ...], update_columns: tuple[str, ...]) -> Any:
    if not key:
        return insert(table)
    from sqlalchemy.dialects import postgresql, sqlite

    make = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    stmt: Any = make(table)
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: getattr(stmt.excluded, c) for c in update_columns}
    )


def _compile(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    update_columns: tuple[str, ...],
    *,
    as_given: bool,
) -> _Compiled | None:
    """The statement :func:`_execute_rows` runs for these columns, compiled once (cached)."""
    dialect = conn.dialect
    cache_key = (dialect.name, table.name, columns, key, update_columns, as_given)
    found: _Compiled | None = _COMPILED.get(cache_key, _UNSEEN)
    if found is not _UNSEEN:
        return found
    found = None
    converted = not as_given and any(
        table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns
    )
    defaulted = any(c.default is not None or c.onupdate is not None for c in table.c if c.name not in columns)
    if not (converted or defaulted):
        stmt = _statement(dialect.name, table, key, update_columns).values({c: bindparam(c) for c in columns})
        compiled = stmt.compile(dialect=dialect)
        order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        if not (compiled.positional and order is None):
            found = _Compiled(str(compiled), order)
    _COMPILED[cache_key] = found
    return found
