"""The store: one interface over SQLite and PostgreSQL.

Core services open a transaction with :meth:`Store.read` or :meth:`Store.write`
and hand it to the query modules of this package. A write transaction records
what it touched (:meth:`WriteTx.changed`); just before it commits it bumps the
change counter and appends those records to the change log, so every server
process can invalidate its cache (see ``core/runtime/cache.py``).

Store calls are synchronous and short. The server runs them on its event loop
thread, never from a thread pool: SQLite connections shared by many threads
spend their time fighting over locks (see docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from openroster.store import schema
from openroster.store.migrate import upgrade


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    tenant_id: str
    kind: str
    key: str


class ReadTx:
    """A read-only transaction: one consistent snapshot of the store."""

    __slots__ = ("conn", "store")

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store = store
        self.conn = conn


@dataclass(slots=True)
class WriteTx:
    """A write transaction. Everything in it commits together or not at all."""

    store: Store
    conn: Connection
    _changes: set[tuple[str, str, str]] = field(default_factory=set)

    def changed(self, tenant_id: str, kind: str, key: str | int) -> None:
        """Record that an entity changed, for cache invalidation in every process."""
        self._changes.add((tenant_id, kind, str(key)))

    def _publish(self) -> None:
        if not self._changes:
            return
        seq = self.conn.execute(
            update(schema.change_counter)
            .where(schema.change_counter.c.id == 1)
            .values(seq=schema.change_counter.c.seq + 1)
            .returning(schema.change_counter.c.seq)
        ).scalar_one()
        self.conn.execute(
            insert(schema.change_log),
            [
                {"seq": seq, "tenant_id": t, "kind": k, "entity_key": key}
                for (t, k, key) in sorted(self._changes)
            ],
        )


_LATEST_SEQ = "SELECT seq FROM change_counter WHERE id = 1"

#: ``Connection.info`` key set while a write transaction is open on the connection:
#: reads that feed a write lock what they read (see ``store/users.get_users``).
WRITING = "openroster_writing"


def in_write(conn: Connection) -> bool:
    """Whether ``conn`` is inside a :meth:`Store.write` transaction."""
    return bool(conn.info.get(WRITING))


class Store:
    """Base of the two backends. Subclasses set up the engine and its dialect quirks."""

    backend: str = "abstract"

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._poll: Any = None
        self._poll_lock = threading.Lock()

    # -- transactions -----------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[ReadTx]:
        with self.engine.connect() as conn:
            yield ReadTx(self, conn)
            conn.rollback()

    @contextmanager
    def write(self) -> Iterator[WriteTx]:
        with self.engine.connect() as conn:
            self._prepare_write(conn)
            conn.info[WRITING] = True
            try:
                with conn.begin():
                    tx = WriteTx(self, conn)
                    yield tx
                    tx._publish()
            finally:
                conn.info.pop(WRITING, None)

    def _prepare_write(self, conn: Connection) -> None:
        """Hook for backends that need to start write transactions differently."""

    # -- change feed --------------------------------------------------------

    def changes_since(self, conn: Connection, seq: int, limit: int) -> Sequence[Change]:
        rows = conn.execute(
            select(
                schema.change_log.c.seq,
                schema.change_log.c.tenant_id,
                schema.change_log.c.kind,
                schema.change_log.c.entity_key,
            )
            .where(schema.change_log.c.seq > seq)
            .order_by(schema.change_log.c.seq)
            .limit(limit)
        ).all()
        return [Change(r[0], r[1], r[2], r[3]) for r in rows]

    def latest_seq(self) -> int:
        """The change counter as last committed, read without a transaction: one tiny query.

        Every read checks this before trusting the cache, so it bypasses SQLAlchemy
        and keeps one driver connection of the pool (in autocommit mode) for itself.
        """
        with self._poll_lock:
            for attempt in (1, 2):
                try:
                    if self._poll is None:
                        self._poll = self.engine.raw_connection()
                        self._prepare_poll(self._poll.driver_connection)
                    row = self._poll.driver_connection.execute(_LATEST_SEQ).fetchone()
                    return int(row[0])
                except Exception:
                    # A dropped connection (database restarted): retry once on a fresh one.
                    self._close_poll()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _prepare_poll(self, driver_connection: Any) -> None:
        """Hook: put the polling connection in autocommit mode if the driver needs it."""

    def _close_poll(self) -> None:
        if self._poll is not None:
            with contextlib.suppress(Exception):
                self._poll.invalidate()
            self._poll = None

    def current_seq(self, conn: Connection) -> int:
        return int(
            conn.execute(
                select(schema.change_counter.c.seq).where(schema.change_counter.c.id == 1)
            ).scalar_one()
        )

    # -- lifecycle ------------------------------------------------------------

    def migrate(self) -> None:
        upgrade(self)

    def dispose(self) -> None:
        with self._poll_lock:
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
