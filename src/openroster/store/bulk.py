"""Fast inserts of many rows at once, for bulk loads (see ``core/people/bulk.py``).

SQLite gets INSERTs of as many rows a statement as it takes parameters; PostgreSQL gets
``COPY ... FROM STDIN``. Both run inside the caller's write transaction and
skip SQLAlchemy's per-row parameter processing, which costs more than the
insert itself at a million rows. Unique indexes and foreign keys still apply:
a violation raises :class:`BulkConflict` and the caller's transaction rolls back.
"""

from __future__ import annotations

import operator
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.exc import IntegrityError

from openroster.model.entities import User
from openroster.model.errors import BulkConflict
from openroster.store import schema
from openroster.store.inserts import insert_values
from openroster.store.sql import send_held

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w., ]+)")
_PG_KEY = re.compile(r"Key \(([^)]*)\)=")


#: SQLite page cache during a bulk load, in KiB: the indexes of a million users fit, so
#: inserting in random key order does not spill pages to the WAL mid-transaction.
BULK_CACHE_KIB = 1024 * 1024


@contextmanager
def loading(conn: Connection) -> Iterator[None]:
    """Tune the connection for a bulk load inside the caller's transaction, and restore it."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw: Any = conn.connection.driver_connection
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(before)}")


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; returns how many.

    The named loaders below (:func:`insert_users` ...) are what callers outside the store use.
    """
    for c in columns:
        if c not in table.c:
            raise ValueError(f"{table.name} has no column {c!r}")
    batch = rows if isinstance(rows, list) else list(rows)
    if not batch:
        return 0
    raw: Any = conn.connection.driver_connection
    try:
        if conn.dialect.name == "postgresql":
            send_held(conn)  # COPY goes past Connection.execute: the savepoints held go first
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in batch:
                    copy.write_row(row)
        else:
            _insert_many_a_statement(raw, table, columns, batch)
    except Exception as exc:
        raise _conflict(table, exc) from exc
    return len(batch)


def _insert_many_a_statement(
    raw: Any, table: Table, columns: Sequence[str], batch: list[Sequence[Any]]
) -> None:
    """SQLite: as many rows a statement as it takes parameters (``INSERT ... VALUES (...), (...)``,
    ``inserts.insert_values``: 1,365 users a statement where it takes 32,766), each statement run
    without the interpreter lock.

    ``executemany`` runs one statement a row and takes the lock back after each: a thread
    inserting that way (the import's writes ahead, ``core/sheets/ahead.py``) waited for the lock
    at every row and wrote one chunk of ten while the import checked them. It also costs more:
    the import's 100,000 new people's users, memberships and attribute values 3.3-3.4 s of CPU
    that way, 2.9-3.0 s this way (side by side at load 5)."""
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    insert_values(raw.execute, raw.executemany, table.name, tuple(columns), batch, limit)


def _conflict(table: Table, exc: Exception) -> Exception:
    message = str(getattr(exc, "orig", None) or exc)
    name = type(exc).__name__
    if isinstance(exc, IntegrityError) or name in (
        "IntegrityError",
        "UniqueViolation",
        "ForeignKeyViolation",
    ):
        m = _SQLITE_UNIQUE.search(message) or _PG_KEY.search(message)
        cols: tuple[str, ...] = ()
        if m is not None:
            cols = tuple(c.strip().split(".")[-1] for c in m.group(1).split(","))
        return BulkConflict(table.name, tuple(c for c in cols if c != "tenant_id"), message.splitlines()[0])
    return exc


_Row = TypeVar("_Row", bound=Sequence[Any])

#: The columns of each bulk-loaded table, in the order rows are given.
USER_COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.users.columns)
MEMBERSHIP_COLUMNS: tuple[str, ...] = ("tenant_id", "user_id", "dept_id", "is_leader", "sort_order")
ATTR_VALUE_COLUMNS: tuple[str, ...] = ("tenant_id", "user_id", "attr_id", "value")
DEPT_COLUMNS: tuple[str, ...] = tuple(c.name for c in schema.depts.columns)
ROSTER_VALUE_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "user_id",
    "group_id",
    "row_index",
    "field_code",
    "value",
)


#: A user's ``users`` row after ``tenant_id`` (enums are str subclasses): picklable, so the
#: worker processes of a bulk load can build rows (as they encode values with ``attrs.encode_value``).
user_fields: Callable[[User], tuple[Any, ...]] = operator.attrgetter(*USER_COLUMNS[1:])


def insert_users(conn: Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert user rows (tuples in :data:`USER_COLUMNS` order); returns how many."""
    return insert_rows(conn, schema.users, USER_COLUMNS, rows)


def insert_memberships(conn: Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert membership rows (tuples in :data:`MEMBERSHIP_COLUMNS` order); returns how many."""
    return insert_rows(conn, schema.memberships, MEMBERSHIP_COLUMNS, in_key_order(rows, 3))


def insert_attr_values(conn: Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert attribute values (tuples in :data:`ATTR_VALUE_COLUMNS` order, values encoded)."""
    return insert_rows(conn, schema.attr_values, ATTR_VALUE_COLUMNS, in_key_order(rows, 3))


def in_key_order(rows: Iterable[_Row], width: int) -> list[_Row]:
    """``rows`` sorted by their first ``width`` columns, the table's primary key: inserted in key
    order, the key's index grows at its end instead of splitting pages all over (a fifth to a
    third less time for the memberships, attribute and roster values of 100,000 new people).

    The loaders sort what they are given; a caller that builds rows in another thread than the one
    inserting them (an import checks a chunk while a thread writes the last, ``core/sheets/ahead.py``)
    sorts them as it builds them, and the loader's sort of sorted rows is one comparison a row."""
    batch = rows if isinstance(rows, list) else list(rows)
    try:
        # The key's columns come first, so the rows' own order is the key's (a third faster than
        # a key function); only rows with the same key, which the insert refuses, compare beyond.
        return sorted(batch)
    except TypeError:  # such rows with values that do not compare (None and text)
        return sorted(batch, key=operator.itemgetter(*range(width)))


def insert_depts(conn: Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert department rows (tuples in :data:`DEPT_COLUMNS` order); returns how many."""
    return insert_rows(conn, schema.depts, DEPT_COLUMNS, rows)


def insert_roster_values(conn: Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert roster values (tuples in :data:`ROSTER_VALUE_COLUMNS` order); returns how many."""
    return insert_rows(conn, schema.roster_values, ROSTER_VALUE_COLUMNS, in_key_order(rows, 5))
