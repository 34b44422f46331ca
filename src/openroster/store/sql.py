"""SQL helpers shared by the row modules of the store (nothing outside ``store`` uses them)."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from itertools import chain
from operator import itemgetter
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine.result import result_tuple
from sqlalchemy.exc import DBAPIError, NoResultFound

#: ``Connection.info`` key set while a write transaction is open on the connection:
#: reads that feed a write lock what they read (see ``store/users.get_users``).
WRITING = "openroster_writing"
#: ``Connection.info`` key of a PostgreSQL write transaction's *held* statements (:func:`hold`).
HELD = "openroster_held"
#: ``Connection.info`` key of the :class:`HeldFailed` of a held statement that failed.
HELD_FAILED = "openroster_held_failed"
#: ``Connection.info`` key set (:func:`commit_with_next`) while the transaction's last statement is
#: to carry its ``COMMIT`` in the same round trip.
COMMIT_WITH = "openroster_commit_with"
#: The statuses of a statement's result that completed (``psycopg.pq.ExecStatus``: COMMAND_OK,
#: TUPLES_OK), as a held statement's cursor has it after its pipeline.
_COMPLETED = (1, 2)
_ROWS = 2

#: The engines :func:`pipelined` installed its hooks on.
_PIPELINED: weakref.WeakSet[Engine] = weakref.WeakSet()


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


def held(conn: Connection) -> list[str] | None:
    """The statements held back on ``conn`` (a PostgreSQL write transaction's), or None where
    statements are not held (SQLite, reads)."""
    found: list[str] | None = conn.info.get(HELD)
    return found


def hold(conn: Connection, statement: str) -> None:
    """Send ``statement`` (no parameters; a row at most as its result: the change counter's lock, a
    savepoint opened or released) with the transaction's next statement instead of on its own:
    both go in one round trip, in order (:func:`pipelined`). Only where statements are held
    (:func:`held`: a write transaction on an engine with the pipeline's hooks, :func:`holds`)."""
    conn.info[HELD].append(statement)


def holds(engine: Engine) -> bool:
    """Whether ``engine``'s write transactions may hold statements (:func:`pipelined` installed
    the hooks that send them)."""
    return engine in _PIPELINED


class HeldFailed(Exception):
    """A held statement (:func:`hold`: the change counter's lock, a savepoint's) failed where it
    went, with the next statement: the transaction is aborted, with no savepoint of its own to roll
    back to, so it fails as a whole, with ``original`` (the error of that statement, as running it
    on its own would have raised it: a lock's timeout, a deadlock, a cancel). Not a job's error: the
    writers hand ``original`` to every job of the group (``store/writer.py``)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def held_failure(conn: Connection) -> HeldFailed | None:
    """The failure of a statement held on ``conn`` (:class:`HeldFailed`), if one failed: it stays
    for the rest of the transaction, so a job that caught it hides it from nobody."""
    found: HeldFailed | None = conn.info.get(HELD_FAILED)
    return found


def send_held(conn: Connection) -> None:
    """Send the held statements now (before something that does not go through
    ``Connection.execute``, such as ``COPY``)."""
    statements = held(conn)
    if statements:
        driver: Any = conn.connection.driver_connection
        sent: list[tuple[str, Any]] = []
        try:
            with driver.pipeline():
                _send(driver, statements, sent)
        except conn.dialect.loaded_dbapi.Error as exc:
            _check_sent(conn.info, statements, sent, exc, conn.dialect.loaded_dbapi.Error)
            raise
        _check_sent(conn.info, statements, sent, None, conn.dialect.loaded_dbapi.Error)


def _send(driver: Any, statements: list[str], sent: list[tuple[str, Any]]) -> None:
    """Send ``statements`` (taken off the list) in the driver's pipeline, each with its cursor in
    ``sent``: once the pipeline is through, those that completed count as run, even when the
    statement after them failed (a savepoint they opened is then rolled back to, not forgotten)."""
    taken = statements[:]
    statements.clear()
    for statement in taken:
        sent.append((statement, driver.execute(statement)))


def _check_sent(
    info: dict[Any, Any],
    statements: list[str],
    sent: list[tuple[str, Any]],
    exc: BaseException | None,
    driver_error: type[Exception],
) -> None:
    """After the pipeline that sent held statements (failed with ``exc``, or None): those that did
    not complete go back to ``statements`` (they never ran: no savepoint of theirs is to be rolled
    back to), and if one did not, the first of them is what failed (the server skips the rest of a
    pipeline after an error): :class:`HeldFailed` is raised, and kept on the connection; so it is
    when one that returns rows (the counter's lock) found none to lock. Returns when they all
    completed: a failure is then the statement's after them, its caller's own error."""
    undone = [statement for statement, cursor in sent if not _completed(cursor)]
    original: BaseException
    if undone and exc is not None:
        statements[:0] = undone
        original = DBAPIError.instance(undone[0], None, exc, driver_error)
    elif missing := [  # every held statement completed: sent has their results
        statement for statement, cursor in sent if cursor.pgresult.status == _ROWS and cursor.rowcount != 1
    ]:
        original = NoResultFound(f"no row to lock: {missing[0]}")
    else:
        return
    failed = HeldFailed(original)
    info[HELD_FAILED] = failed
    raise failed from exc


def _completed(cursor: Any) -> bool:
    result = cursor.pgresult
    return result is not None and result.status in _COMPLETED


@contextmanager
def commit_with_next(conn: Connection) -> Iterator[None]:
    """Within the block, the next statement on ``conn`` (where statements are held: :func:`held`)
    goes with the ``COMMIT`` of the transaction after it, in one pipeline: the last statement of a
    write transaction (the publish) and its commit cost one round trip. When that statement fails,
    the ``COMMIT`` is not run (the server skips the rest of a pipeline after an error) and the
    transaction is rolled back as usual; the driver's commit after the block finds nothing open."""
    # The dict is taken once: after a lost connection, ``conn.info`` raises (the connection is
    # invalid until rolled back), which would hide the error that lost it.
    info = conn.info
    info[COMMIT_WITH] = True
    try:
        yield
    finally:
        info.pop(COMMIT_WITH, None)


def _with_held(
    cursor: Any, context: Any, run: Callable[[str, Any], Any], statement: str, parameters: Any
) -> bool:
    """Run ``statement`` after the held statements in one pipeline (and before the ``COMMIT``, when
    :func:`commit_with_next` asked for it); False (SQLAlchemy runs it as usual) when neither."""
    info = _info_of(context)
    statements: list[str] | None = None if info is None else info.get(HELD)
    commit = info is not None and info.pop(COMMIT_WITH, False)
    if info is None or statements is None or not (statements or commit):
        return False
    driver = cursor.connection
    sent: list[tuple[str, Any]] = []
    try:
        with driver.pipeline():
            _send(driver, statements, sent)
            run(statement, parameters)
            if commit:
                driver.execute("COMMIT")
    except context.dialect.loaded_dbapi.Error as exc:
        _check_sent(info, statements, sent, exc, context.dialect.loaded_dbapi.Error)
        raise
    _check_sent(info, statements, sent, None, context.dialect.loaded_dbapi.Error)
    return True


def _info_of(context: Any) -> dict[Any, Any] | None:
    try:
        info: dict[Any, Any] = context.root_connection.info
    except NotImplementedError:  # the dialect's first connection, outside the pool: none held
        return None
    return info


def pipelined(engine: Engine) -> None:
    """On ``engine`` (PostgreSQL), send a write transaction's held statements (:func:`hold`) in
    one pipeline with its next statement: psycopg's pipeline mode sends them all and waits once,
    so a job's savepoints and a group's lock cost no round trip of their own."""

    def execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return _with_held(cursor, context, cursor.execute, statement, parameters)

    def executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return _with_held(cursor, context, cursor.executemany, statement, parameters)

    def execute_no_params(cursor: Any, statement: str, context: Any) -> bool:
        return _with_held(cursor, context, cursor.execute, statement, None)

    event.listen(engine, "do_execute", execute)
    event.listen(engine, "do_executemany", executemany)
    event.listen(engine, "do_execute_no_params", execute_no_params)
    _PIPELINED.add(engine)


T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")


#: A statement of a :class:`Read` (a select built once, its parameters bound by name) and its
#: parameters.
Query = tuple[Select[Any], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """A read a row function makes, not yet run: its ``queries`` and ``decode``, which makes the
    function's answer of their rows (a list of rows for each query, in order). No queries: nothing
    to ask (no ids given, say). :func:`run` runs one; :func:`together` several in one round trip."""

    queries: tuple[Query, ...]
    decode: Callable[[list[Sequence[Any]]], T]


def one_query(
    statement: Select[Any] | None, params: Mapping[str, Any], decode: Callable[[Sequence[Any]], T]
) -> Read[T]:
    """A :class:`Read` of one query (none when ``statement`` is None: ``decode`` gets no rows)."""
    if statement is None:
        return Read((), lambda _: decode(()))
    return Read(((statement, params),), lambda rows: decode(rows[0]))


def run(conn: Connection, read: Read[T]) -> T:
    """Run ``read`` on its own (what its row function does): its queries one after the other."""
    return read.decode([conn.execute(statement, params).all() for statement, params in read.queries])


@overload
def together(conn: Connection, r1: Read[T1], r2: Read[T2], /) -> tuple[T1, T2]: ...
@overload
def together(conn: Connection, r1: Read[T1], r2: Read[T2], r3: Read[T3], /) -> tuple[T1, T2, T3]: ...
@overload
def together(
    conn: Connection, r1: Read[T1], r2: Read[T2], r3: Read[T3], r4: Read[T4], /
) -> tuple[T1, T2, T3, T4]: ...
def together(conn: Connection, *reads: Read[Any]) -> tuple[Any, ...]:
    """Run ``reads`` and return their answers, in order. In a PostgreSQL write transaction whose
    statements are held (:func:`held`) their queries go in one pipeline after the held ones: one
    round trip for all, where each query was one of its own. They see what the statements before
    them did, as when run one after the other (the server runs a pipeline's statements in order).
    A query whose rows or parameters need SQLAlchemy's conversion runs on its own, after the others
    (no statement of the store's write path has one)."""
    statements = held(conn)
    queries = [q for r in reads for q in r.queries]
    if statements is None or len(queries) < 2:
        return tuple(run(conn, r) for r in reads)
    driver: Any = conn.connection.driver_connection
    dialect = conn.dialect
    sent: list[tuple[str, Any]] = []
    cursors: list[tuple[Any, Callable[[Any], Any]] | None] = []
    error = dialect.loaded_dbapi.Error
    try:
        with driver.pipeline():
            _send(driver, statements, sent)
            for statement, params in queries:
                plan = _plan(dialect, statement)
                if plan is None:
                    cursors.append(None)
                else:
                    text, make_row = plan
                    cursors.append((driver.execute(text, params), make_row))
    except error as exc:
        _check_sent(conn.info, statements, sent, exc, error)
        # The held statements ran: the error is a query's (the first that did not complete), raised
        # as SQLAlchemy raises it (``OperationalError``, ``.orig`` the driver's: a deadlock's 40P01
        # is retried by the writers).
        failed = next(
            (q for q, c in zip(queries, cursors, strict=False) if c is not None and not _completed(c[0])),
            queries[0],
        )
        raise DBAPIError.instance(str(failed[0]), dict(failed[1]), exc, error) from exc
    _check_sent(conn.info, statements, sent, None, error)
    answers = iter(
        conn.execute(statement, params).all() if found is None else [found[1](t) for t in found[0].fetchall()]
        for (statement, params), found in zip(queries, cursors, strict=True)
    )
    return tuple(r.decode([next(answers) for _ in r.queries]) for r in reads)


#: :func:`together`'s statements as the driver runs them, by ``(dialect name, id(statement))`` (the
#: statement kept, so its id is not reused), or None for one SQLAlchemy must run.
_PLANS: dict[tuple[str, int], tuple[Select[Any], tuple[str, Callable[[Any], Any]] | None]] = {}


def _plan(dialect: Any, statement: Select[Any]) -> tuple[str, Callable[[Any], Any]] | None:
    """``statement``'s SQL for ``dialect``, made once, and what makes a row of the driver's tuple (a
    row as SQLAlchemy gives it: by index, by name through ``_mapping``). A list parameter (``IN``,
    SQLAlchemy's expanding bind) is one array: ``= ANY(%(ids)s::VARCHAR[])``, the same text for any
    number of values, where SQLAlchemy renders a parameter a value on every run (for 50 ids, most of
    the query's cost in the client) and the server plans each count afresh. The array's cast has no
    length (as :func:`_execute_arrays`'s: an explicit cast to a sized string cuts a value, and a
    cut id could match another). None when a column's values or a parameter need SQLAlchemy's
    conversion, or the SQL holds what this does not render."""
    key = (dialect.name, id(statement))
    found = _PLANS.get(key)
    if found is not None:
        return found[1]
    columns = list(statement.selected_columns)
    compiled = statement.compile(dialect=dialect)
    text = compiled.string
    if any(not bind.required for bind in compiled.binds.values()):
        # A parameter with a value of its own (``column == "x"``): :func:`together` passes only
        # the caller's parameters, so SQLAlchemy must run it.
        _PLANS[key] = (statement, None)
        return None
    for name, bind in compiled.binds.items():
        if bind.expanding and f"NOT IN (__[POSTCOMPILE_{name}])" not in text:
            # (``NOT IN`` keeps its placeholder, so the plan is None below.)
            array = f"= ANY(%({name})s::{_unsized(bind.type).compile(dialect=dialect)}[])"
            text = text.replace(f"IN (__[POSTCOMPILE_{name}])", array)
    converted = any(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns) or any(
        b.type.dialect_impl(dialect).bind_processor(dialect) for b in compiled.binds.values()
    )
    plan = None
    if not converted and compiled.positional is False and "__[POSTCOMPILE" not in text:
        plan = (text, result_tuple([str(c.key) for c in columns]))
    _PLANS[key] = (statement, plan)
    return plan


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
#: :func:`insert_values`'s statement texts by (table, columns, rows a statement).
_VALUES: dict[tuple[str, tuple[str, ...], int], str] = {}


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
    (...), (...)``, with at most ``max_params`` parameters each (SQLite's limit): one step of
    SQLite's a statement, run without the interpreter lock, where ``executemany`` steps a one-row
    statement once a row and takes the lock back after each.

    The rows a statement are bucketed, so a table has a few statement texts that the driver
    prepares once and keeps in its statement cache: as many rows as the limit allows (at most
    ``most``) while that many are left, then the powers of two (... 256, 128, 64) the count left
    holds, then the last fewer than 64 by ``executemany`` (``execute`` gets a statement's
    parameters as a tuple, ``executemany`` a list of rows). So a write of one row runs the same
    one-row text every time, and one of 100 rows runs the 64-row text and the one-row one."""
    width = len(columns)
    full = max(1, min(max_params // width, most or max_params))
    start, left = 0, len(rows)
    while left:
        size = full if left >= full else 1 << (left.bit_length() - 1)
        if size < _FEWEST_A_STATEMENT and size != full:
            executemany(_values_sql(table, columns, 1), list(rows[start:]))
            return
        part = rows[start : start + size]
        execute(_values_sql(table, columns, size), tuple(chain.from_iterable(part)))
        start += size
        left -= size


def _values_sql(table: str, columns: tuple[str, ...], size: int) -> str:
    sql = _VALUES.get((table, columns, size))
    if sql is None:
        one = f"({', '.join('?' * len(columns))})"
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * size)}"
        _VALUES[(table, columns, size)] = sql
    return sql


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
        order = compiled.order
        conn.exec_driver_sql(compiled.sql, [tuple(r[c] for c in order) for r in rows])


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
        arrays = ", ".join(
            f"%({c})s::{_unsized(table.c[c].type).compile(dialect=dialect)}[]" for c in columns
        )
        into = f"{dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, columns))})"
        statement = f"INSERT INTO {into} SELECT * FROM unnest({arrays})"
        if key:
            updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update_columns)
            statement += f" ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE SET {updates}"
        _ARRAYS[cache_key] = statement
    conn.exec_driver_sql(statement, {c: [r[c] for r in rows] for c in columns})


def _unsized(column_type: Any) -> Any:
    """``column_type`` without its length (``VARCHAR(64)`` as ``VARCHAR``): an explicit cast to a
    sized string cuts an over-long value silently, where the INSERT's own assignment to the column
    refuses it (``StringDataRightTruncation``, as one row or ``executemany`` gets)."""
    if getattr(column_type, "length", None) is None:
        return column_type
    unsized = copy.copy(column_type)
    unsized.length = None
    return unsized


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
