"""SQL helpers shared by the row modules of the store (nothing outside ``store`` uses them)."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from operator import itemgetter
from typing import Any, Generic, TypeVar, overload

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    event,
    func,
    select,
)
from sqlalchemy.engine.result import result_tuple
from sqlalchemy.exc import DBAPIError, NoResultFound

from openroster.store import inserts

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
#: Execution option of a ``Connection`` whose statements run in no transaction (:func:`alone`).
ALONE = "openroster_alone"
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
    to ask (no ids given, say). :func:`run` runs one; :func:`together` several in one round trip.
    Its statements are module constants, made once: their driver texts are kept by statement
    (:func:`_plan`), so one made on each call would be planned again each time."""

    queries: tuple[Query, ...]
    decode: Callable[[list[Sequence[Any]]], T]


class Kept:
    """Reads a write transaction keeps for the rest of it (``WriteTx.kept``): a tenant's attribute
    definitions and its roster fields' options, which every v2/update and batch_update job of a
    group reads and hardly any writes. Safe while the transaction holds the store's write lock
    (PostgreSQL: every transaction that publishes takes the change counter's lock first, so none
    other changes them meanwhile; SQLite: one writer), as long as the transaction's own changes
    to them drop what is kept: :meth:`drop` (``WriteTx.changed`` of such a kind, and the end of
    a savepoint in which one was recorded, undone or not)."""

    __slots__ = ("_answers", "generation")

    def __init__(self) -> None:
        self._answers: dict[tuple[Any, ...], Any] = {}
        #: Counts the drops: an answer read across one is not kept.
        self.generation = 0

    def read(self, read: Read[T]) -> Read[T]:
        """``read`` as a read answered once: by what was kept for the same queries (statements
        built once, the same parameters), with no query; else by its queries, its answer kept.
        Its queries are its key: it has one at least, and their parameters are hashable (scalars)."""
        if not read.queries:
            raise ValueError("a read with no queries cannot be kept: every such read would share its key")
        key = tuple((id(statement), *params.items()) for statement, params in read.queries)
        try:
            hash(key)
        except TypeError:
            raise TypeError(f"a kept read's parameters must be hashable (scalars): {key!r}") from None
        if key in self._answers:
            kept: T = self._answers[key]
            return Read((), lambda _rows: kept)
        generation = self.generation

        def decode(rows: list[Sequence[Any]]) -> T:
            answer = read.decode(rows)
            if self.generation == generation:
                self._answers[key] = answer
            return answer

        return Read(read.queries, decode)

    def drop(self) -> None:
        self._answers.clear()
        self.generation += 1


class Fixed:
    """A read's SQL, one fixed text run on the driver's own connection: no compile, execution
    context or result object of SQLAlchemy's per run, and the driver prepares it (SQLite keeps a
    connection's prepared statements by text; psycopg prepares a text it has run five times). Its
    parameters are named ``:name``; its rows are the driver's tuples, each value as the driver
    makes it (only for columns that need no conversion of SQLAlchemy's: text, numbers, bytes).
    It runs in the connection's transaction (begun if none is yet: a read stays one snapshot), or
    in none on a connection :func:`alone` marked. Its errors are the driver's own (a
    ``psycopg.OperationalError``, a ``sqlite3.Error``), not wrapped in SQLAlchemy's ``DBAPIError``."""

    __slots__ = ("_postgresql", "_sqlite")

    def __init__(self, text: str) -> None:
        self._sqlite = text
        self._postgresql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", text)

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The statement's rows, run on ``conn``'s driver connection (by SQLAlchemy when statements
        are held on it, :func:`hold`: it goes with them)."""
        text = self._postgresql if conn.dialect.name == "postgresql" else self._sqlite
        if held(conn):  # with them, in one round trip (:func:`pipelined`)
            return [tuple(r) for r in conn.exec_driver_sql(text, dict(params or {})).all()]
        if not conn.in_transaction() and not conn.get_execution_options().get(ALONE):
            conn.begin()
        driver: Any = conn.connection.driver_connection
        found: list[tuple[Any, ...]] = driver.execute(text, params or {}).fetchall()
        return found


def alone(conn: Connection) -> None:
    """From now until it goes back to the pool, ``conn``'s statements run in no transaction, each
    in a snapshot of its own (``Store.read(snapshot=False)``): on PostgreSQL by SQLAlchemy's
    ``isolation_level="AUTOCOMMIT"`` (the driver sends no ``BEGIN`` before the first, nor
    ``ROLLBACK`` at the end: it has none to end), which the pool undoes when the connection goes
    back to it, after its own rollback (so on a session in no transaction; one whose rollback fails
    is dropped, not returned); on SQLite (already in autocommit) :class:`Fixed` begins none. Both
    are options of this ``Connection`` only, gone with it: nothing is left on the pooled
    connection. Only on a connection with no transaction open."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT", **{ALONE: True})
    else:
        conn.execution_options(**{ALONE: True})


def one_query(
    statement: Select[Any] | None, params: Mapping[str, Any], decode: Callable[[Sequence[Any]], T]
) -> Read[T]:
    """A :class:`Read` of one query (none when ``statement`` is None: ``decode`` gets no rows).
    ``statement`` a module constant (see :class:`Read`)."""
    if statement is None:
        return Read((), lambda _: decode(()))
    return Read(((statement, params),), lambda rows: decode(rows[0]))


def run(conn: Connection, read: Read[T]) -> T:
    """Run ``read`` on its own (what its row function does): its queries one after the other. On
    SQLite each goes to the driver as a text made once (:func:`_plan`), as :class:`Fixed` does:
    SQLAlchemy's compile of the list parameter, execution context and result were most of a
    write's read (several times the driver's own work for 50 ids)."""
    if conn.dialect.name == "sqlite":
        return read.decode([_sqlite_rows(conn, statement, params) for statement, params in read.queries])
    return read.decode([conn.execute(statement, params).all() for statement, params in read.queries])


def _sqlite_rows(conn: Connection, statement: Select[Any], params: Mapping[str, Any]) -> Sequence[Any]:
    """``statement``'s rows on SQLite, as ``conn.execute(statement, params).all()`` gives them: by
    the driver when :func:`_plan` has a text for it, its list parameters passed as one JSON array
    each (``IN (SELECT value FROM json_each(:ids))``: one text for any number of values, the column's
    index still sought once a value). Its errors are SQLAlchemy's, as through ``conn.execute``."""
    plan = _plan(conn.dialect, statement)
    if plan is None:
        return conn.execute(statement, params).all()
    text, make_row, lists = plan
    if lists:
        try:
            as_json = {
                name: orjson.dumps(params[name], option=orjson.OPT_STRICT_INTEGER).decode() for name in lists
            }
        except TypeError:
            # Not JSON SQLite reads back as given: a lone surrogate; an integer past 53 bits (SQLite
            # reads one past 63 as a float; Python's driver refuses it, as through SQLAlchemy).
            return conn.execute(statement, params).all()
        if any("\\u0000" in j for j in as_json.values()):
            # json_each ends a string at its first NUL ('a\0c' would be 'a'), so SQLAlchemy runs it.
            return conn.execute(statement, params).all()
        params = {**params, **as_json}
    if not conn.in_transaction() and not conn.get_execution_options().get(ALONE):
        conn.begin()
    driver: Any = conn.connection.driver_connection
    # Whoever watches the statements sent (``before_cursor_execute``: tests, benchmarks) sees
    # these too, with the text and parameters the driver gets (no cursor or context of SQLAlchemy's).
    for listener in conn.dispatch.before_cursor_execute:
        listener(conn, None, text, params, None, False)
    error = conn.dialect.loaded_dbapi.Error
    try:
        found = driver.execute(text, params).fetchall()
    except error as exc:
        raise DBAPIError.instance(text, dict(params), exc, error) from exc
    return [make_row(r) for r in found]


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
                    text, make_row, _ = plan
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


#: :func:`_plan`'s answers, by ``(dialect name, id(statement))`` (the statement kept, so its id is
#: not reused): the driver's text, what makes a row of its tuple, the list parameters' names (SQLite:
#: passed as JSON); None for a statement SQLAlchemy must run.
_Plan = tuple[str, Callable[[Any], Any], tuple[str, ...]]
_PLANS: dict[tuple[str, int], tuple[Select[Any], _Plan | None]] = {}
#: :data:`_PLANS` is emptied when it has this many (a Read's statements are module constants, a
#: few dozen; any others are planned again, never kept without end).
_MOST_PLANS = 1024
#: SQLite's dialect with named parameters (``:name``, which the driver takes from a mapping), by
#: the class of the engine's dialect.
_NAMED: dict[type, Any] = {}


def _plan(dialect: Any, statement: Select[Any]) -> _Plan | None:
    """``statement``'s SQL for ``dialect``, made once, what makes a row of the driver's tuple (a
    row as SQLAlchemy gives it: by index, by name through ``_mapping``), and the names of its list
    parameters. A list parameter (``IN``, SQLAlchemy's expanding bind) is one value, the same text
    for any number of values, where SQLAlchemy renders a parameter a value on every run (for 50 ids,
    most of the query's cost in the client) and the server plans each count afresh: on PostgreSQL
    an array, ``= ANY(%(ids)s::VARCHAR[])``, whose cast has no length (as :func:`_execute_arrays`'s:
    an explicit cast to a sized string cuts a value, and a cut id could match another); on SQLite a
    JSON array, ``IN (SELECT value FROM json_each(:ids))``, and the rows' values converted by their
    columns' result processors (SQLite's booleans). None when a parameter needs SQLAlchemy's
    conversion (or, on PostgreSQL, a column's value), or the SQL holds what this does not render."""
    key = (dialect.name, id(statement))
    found = _PLANS.get(key)
    if found is not None:
        return found[1]
    if len(_PLANS) >= _MOST_PLANS:  # (statements made on each call would be kept for ever)
        _PLANS.clear()
    sqlite = dialect.name == "sqlite"
    renders = dialect
    if sqlite:  # parameters by name, as PostgreSQL's dialect renders them (``%(name)s``)
        renders = _NAMED.get(type(dialect))
        if renders is None:
            renders = _NAMED[type(dialect)] = type(dialect)(paramstyle="named")
    columns = list(statement.selected_columns)
    compiled = statement.compile(dialect=renders)
    text = compiled.string
    if any(not bind.required for bind in compiled.binds.values()):
        # A parameter with a value of its own (``column == "x"``): the caller's parameters are
        # all a plan is run with, so SQLAlchemy must run it.
        _PLANS[key] = (statement, None)
        return None
    lists: list[str] = []
    for name, bind in compiled.binds.items():
        if bind.expanding and f"NOT IN (__[POSTCOMPILE_{name}])" not in text:
            # (``NOT IN`` keeps its placeholder, so the plan is None below.)
            if sqlite:
                # A number asked of a text column matches its text through ``IN (?)``; json_each's
                # value does so only cast (id 1 would find no '1').
                value = "CAST(value AS TEXT)" if isinstance(bind.type, String) else "value"
                one = f"IN (SELECT {value} FROM json_each(:{name}))"
                lists.append(name)
            else:
                one = f"= ANY(%({name})b::{inserts.unsized(bind.type).compile(dialect=dialect)}[])"
            text = text.replace(f"IN (__[POSTCOMPILE_{name}])", one)
    processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
    converted = any(b.type.dialect_impl(dialect).bind_processor(dialect) for b in compiled.binds.values())
    make_row = result_tuple([str(c.key) for c in columns])
    if any(processors):
        # SQLite's own conversions of a value read (a boolean's 0/1 to False/True), applied as
        # SQLAlchemy applies them: the engine's dialect's, with its options (a JSON column's
        # deserializer), not the copy that renders; PostgreSQL's dialect leaves them to SQLAlchemy.
        converted = converted or not sqlite
        make_row = _processed(make_row, processors)
    plan = None
    if not converted and compiled.positional is False and "__[POSTCOMPILE" not in text:
        plan = (text, make_row, tuple(lists))
    _PLANS[key] = (statement, plan)
    return plan


def _processed(make_row: Callable[[Any], Any], processors: list[Any]) -> Callable[[Any], Any]:
    """``make_row`` of each value as its column's result processor (where it has one) makes it."""
    at = [(i, p) for i, p in enumerate(processors) if p is not None]

    def processed(values: Any) -> Any:
        values = list(values)
        for i, p in at:
            values[i] = p(values[i])
        return make_row(values)

    return processed


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
