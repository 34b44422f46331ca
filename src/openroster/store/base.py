"""The store: one interface over SQLite and PostgreSQL.

Core services open a transaction with :meth:`Store.read` or :meth:`Store.write`
and call the repositories it exposes (``tx.users``, ``tx.depts``...: see
``store/tx.py``). A write transaction records what it touched
(:meth:`WriteTx.changed`) and the typed changes it made (:meth:`WriteTx.record`); just
before it commits it bumps the change counter and appends those to the change log and
the change records, so every server process can invalidate its cache (see
``core/runtime/cache.py``) and the event engine can deliver them (``openroster.events``).
After a commit that wrote change records, the store calls its commit listeners
(:meth:`Store.on_records`), so the local event engine wakes at once.

Store calls are synchronous and short. The server runs reads on its event loop thread, never
from a thread pool: SQLite connections shared by many threads spend their time fighting over
locks (see docs/benchmarks.md). Its writes run on the store's writers instead
(``store/writer.py``): one thread on SQLite, a small pool on PostgreSQL, each committing the
writes queued together in one transaction.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from openroster.store.changes import Change
from openroster.store.migrate import upgrade
from openroster.store.sql import (
    HELD,
    HELD_FAILED,
    WRITING,
    HeldFailed,
    alone,
    commit_with_next,
    held,
    held_failure,
    holds,
)
from openroster.store.tx import ReadTx, WriteTx
from openroster.store.writer import in_group

_LATEST_SEQ = "SELECT seq FROM change_counter WHERE id = 1"
#: :meth:`Store.changes_after`, on the polling connection. ``{p}``: the driver's parameter mark.
_CHANGES_AFTER = (
    "SELECT seq, tenant_id, kind, entity_key FROM change_log WHERE seq > {p} ORDER BY seq LIMIT {p}"
)

T = TypeVar("T")

#: ``psycopg.pq.TransactionStatus.INERROR``: a transaction a failed statement aborted.
_IN_ERROR = 3


def _ask_latest(cursor: Any) -> int:
    cursor.execute(_LATEST_SEQ)
    return int(cursor.fetchone()[0])


def _refuse_aborted(conn: Connection) -> None:
    """Raise, rather than commit, a PostgreSQL transaction a failed statement left aborted: its
    ``COMMIT`` would roll it back and answer as if it had committed. Nothing is asked of the server
    (the driver knows the transaction's status)."""
    driver: Any = conn.connection.driver_connection
    if driver.info.transaction_status == _IN_ERROR:
        failed = held_failure(conn)
        if failed is not None:
            raise failed
        raise RuntimeError("a statement failed and was not rolled back to a savepoint: nothing is committed")


class Store:
    """Base of the two backends. Subclasses set up the engine and its dialect quirks."""

    backend: str = "abstract"
    #: The driver's parameter mark in the raw statements of the polling connection.
    poll_param: str = "?"

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._poll: Any = None
        #: A cursor of the polling connection's driver, kept: one a poll cost as much as the query.
        self._poll_cursor: Any = None
        self._poll_lock = threading.Lock()
        self._changes_after = _CHANGES_AFTER.format(p=self.poll_param)
        self._record_listeners: list[Callable[[], None]] = []

    # -- transactions -----------------------------------------------------

    @contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[ReadTx]:
        """A read transaction. ``snapshot=False``: its statements run in no transaction, each in a
        snapshot of its own (as they do in PostgreSQL's read-committed transactions anyway), which
        spares the read its ``BEGIN`` and ``ROLLBACK``: on PostgreSQL two round trips of its own
        (the event engine's pass read, ``events/engine.py``). On SQLite the reads run on the
        driver go without (``sql.Fixed``, and ``sql.run``'s Reads whose text it makes): a statement
        SQLAlchemy runs (one of those it cannot make) still begins one."""
        with self.engine.connect() as conn:
            if not snapshot:
                alone(conn)
            yield ReadTx(conn)
            conn.rollback()

    @contextmanager
    def write(
        self, *, quiet: bool = False, now_ms: Callable[[], int] | None = None, serial: bool = True
    ) -> Iterator[WriteTx]:
        """A write transaction. ``quiet``: its change records are dropped (set-up raises no events);
        ``now_ms``: the clock its change records are stamped with (default: real time);
        ``serial=False`` (PostgreSQL): it does not take the change counter's lock first, so it runs
        beside the writer holding it; only for a transaction that publishes no change and writes
        only the outbox (the event engine's lane of the writers, ``store/writer.py``).

        Not inside a write job (``store/writer.py``): there ``Directory.writer()`` is a savepoint
        of the job's group, and a transaction of its own would wait for the group's lock."""
        if in_group():
            raise RuntimeError("a write job opened a write transaction of its own: use d.writer() in a job")
        with self.engine.connect() as conn:
            self._prepare_write(conn)
            conn.info[WRITING] = True
            postgres = conn.dialect.name == "postgresql"
            if postgres and holds(self.engine):  # statements held back to go with the next one (sql.hold)
                conn.info[HELD] = []
            try:
                with conn.begin():
                    tx = WriteTx(conn, quiet=quiet, now_ms=now_ms)
                    if serial and postgres:
                        # Every writer takes the counter's lock before anything else, as the
                        # writers' groups do: a lock taken before it (the journal's generation, a
                        # tenant's rows) could otherwise close a deadlock with a group that holds
                        # it. It goes with the transaction's first statement (one round trip).
                        tx.changes.hold_counter_lock()
                    yield tx
                    if postgres:
                        _refuse_aborted(conn)
                    if held(conn) is None:
                        tx.publish()
                    else:
                        # The publish and the COMMIT in one round trip (what is still held, a
                        # savepoint's release at most, goes before them).
                        with commit_with_next(conn):
                            tx.publish()
            except HeldFailed as failed:
                # A held statement's error (the counter's lock timed out, was a deadlock's victim):
                # the transaction's own, raised as taking the lock on its own would have.
                raise failed.original from failed.__cause__
            finally:
                conn.info.pop(WRITING, None)
                conn.info.pop(HELD, None)
                conn.info.pop(HELD_FAILED, None)
        if tx.records:
            for listener in tuple(self._record_listeners):
                listener()

    def on_records(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (in the writing thread) after each commit that wrote change records;
        returns the function that removes it."""
        self._record_listeners.append(listener)
        return lambda: self._record_listeners.remove(listener)

    def _prepare_write(self, conn: Connection) -> None:
        """Hook for backends that need to start write transactions differently."""

    # -- change feed --------------------------------------------------------

    def latest_seq(self) -> int:
        """The change counter as last committed, read without a transaction: one tiny query.

        Every read checks this before trusting the cache, so it (and :meth:`changes_after`)
        bypasses SQLAlchemy and keeps one driver connection of the pool (in autocommit mode) for
        itself.
        """
        return self._polled(_ask_latest)

    def changes_after(self, seq: int, limit: int) -> list[Change]:
        """The change-log entries after ``seq``, oldest first, at most ``limit``, read like the
        poll (:meth:`latest_seq`): on its connection, without a transaction, one round trip.
        When a poll finds the counter moved, the cache catches up from these, without a read
        transaction of its own."""
        return self._polled(self._ask_changes, seq, limit)

    def _ask_changes(self, cursor: Any, seq: int, limit: int) -> list[Change]:
        cursor.execute(self._changes_after, (seq, limit))
        return [Change(r[0], r[1], r[2], r[3]) for r in cursor.fetchall()]

    def _polled(self, ask: Callable[..., T], *args: Any) -> T:
        """``ask(cursor, *args)`` on the polling connection's cursor, opened when first needed."""
        with self._poll_lock:
            for attempt in (1, 2):
                try:
                    cursor = self._poll_cursor
                    if cursor is None:
                        self._poll = self.engine.raw_connection()
                        self._prepare_poll(self._poll.driver_connection)
                        cursor = self._poll_cursor = self._poll.driver_connection.cursor()
                    return ask(cursor, *args)
                except Exception:
                    # A dropped connection (database restarted): retry once on a fresh one.
                    self._close_poll()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _prepare_poll(self, driver_connection: Any) -> None:
        """Hook: put the polling connection in autocommit mode if the driver needs it."""

    def _close_poll(self) -> None:
        self._poll_cursor = None
        if self._poll is not None:
            with contextlib.suppress(Exception):
                self._poll.invalidate()
            self._poll = None

    # -- lifecycle ------------------------------------------------------------

    def migrate(self) -> None:
        upgrade(self)

    def dispose(self) -> None:
        with self._poll_lock:
            self._poll_cursor = None
            if self._poll is not None:
                with contextlib.suppress(Exception):
                    self._poll.close()
                self._poll = None
        self.engine.dispose()

    def integrity_check(self) -> list[str]:
        """Problems the backend finds in its own files; empty when healthy."""
        return []

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend}

    @property
    def data_path(self) -> Path | None:
        return None
