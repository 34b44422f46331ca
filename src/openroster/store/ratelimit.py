"""Rate limits kept in the store, so every server process on it counts against one budget.

A token bucket per key (see ``core/runtime/throttle.py``), read and written in one
short write transaction per call: SQLite serialises writers (``BEGIN
IMMEDIATE``), PostgreSQL locks the bucket's row (``SELECT ... FOR UPDATE``), so
two processes never both take the last token. Buckets live in the
``server_settings`` table under ``rate/<hash of the key>`` (no schema change
needed; a bucket is three numbers: its tokens, when it was last touched, its period). Only
endpoints that have a rate pay for this. Every thousandth call of a process also forgets the
buckets idle long enough to be full again, so buckets of callers that went away (client ids
guessed at the token endpoints) do not pile up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from openroster.model.rate import Rate
from openroster.store.base import Store
from openroster.store.schema import server_settings
from openroster.store.tx import WriteTx

_PREFIX = "rate/"
#: The period assumed for a bucket stored without one.
_UNKNOWN_PERIOD = 86_400.0
#: Calls between two sweeps of idle buckets, per process.
_SWEEP_EVERY = 1000


def _row_key(key: str) -> str:
    return _PREFIX + hashlib.sha256(key.encode()).hexdigest()[:40]


def _bucket(raw: object, rate: Rate, now: float) -> float:
    """The tokens a stored bucket holds at ``now`` (a row that cannot be read counts as full)."""
    tokens_s, _, last_s = str(raw).partition("|")
    try:
        tokens, last = float(tokens_s), float(last_s.partition("|")[0])
    except ValueError:
        return float(rate.calls)
    return rate.refilled(tokens, since=last, now=now)


def _value(tokens: float, now: float, rate: Rate) -> str:
    # The period goes with the bucket, so idle ones can be told apart from live ones (forget_idle).
    return f"{tokens!r}|{now!r}|{rate.per_seconds!r}"


def take(conn: Connection, key: str, rate: Rate, *, now: float) -> float:
    """Inside a write transaction: take one token from ``key``'s bucket, or say how long to wait."""
    row_key = _row_key(key)
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        make(server_settings)
        .values(key=row_key, value=_value(float(rate.calls), now, rate))
        .on_conflict_do_nothing(index_elements=["key"])
    )
    raw = conn.execute(
        select(server_settings.c.value).where(server_settings.c.key == row_key).with_for_update()
    ).scalar_one()
    tokens = _bucket(raw, rate, now)
    wait = rate.wait(tokens)
    if wait == 0.0:
        tokens = max(0.0, tokens - 1.0)
    conn.execute(
        update(server_settings)
        .where(server_settings.c.key == row_key)
        .values(value=_value(tokens, now, rate))
    )
    return wait


def peek(conn: Connection, key: str, rate: Rate, *, now: float) -> float:
    """What :func:`take` would answer now, reading only."""
    raw = conn.execute(select(server_settings.c.value).where(server_settings.c.key == _row_key(key))).scalar()
    return 0.0 if raw is None else rate.wait(_bucket(raw, rate, now))


def forget_idle(conn: Connection, *, now: float) -> int:
    """Delete the buckets that have been idle long enough to be full again (a missing bucket is a full
    one); returns how many. Buckets written before their period was stored are kept a day."""
    idle: list[str] = []
    rows = conn.execute(
        select(server_settings.c.key, server_settings.c.value).where(
            server_settings.c.key.startswith(_PREFIX)
        )
    )
    for key, value in rows:
        _, _, rest = str(value).partition("|")
        last_s, _, period_s = rest.partition("|")
        try:
            last, period = float(last_s), float(period_s or _UNKNOWN_PERIOD)
        except ValueError:
            continue
        if now - last > period:
            idle.append(key)
    if idle:
        conn.execute(delete(server_settings).where(server_settings.c.key.in_(idle)))
    return len(idle)


class StoreRateLimiter:
    """A rate limiter (the throttle's ``RateLimiter`` protocol) shared through the store.

    ``store`` is a callable so the limiter can be made before the server opens
    its store (the routes are mounted first). ``write`` (default: a transaction of the store's
    own) opens the write a token is taken in: the server passes its directory's ``writer()``, so
    that inside a writers' job (how the pipeline admits a call, ``server/pipeline.py``) the token
    is taken in a savepoint of the job's group instead of a transaction waiting for the group's lock.
    """

    def __init__(
        self, store: Callable[[], Store], write: Callable[[], AbstractContextManager[WriteTx]] | None = None
    ) -> None:
        self._store = store
        self._write = write or (lambda: store().write())
        self._calls = 0

    def acquire(self, key: str, rate: Rate, *, now: float) -> float:
        self._calls += 1
        with self._write() as tx:
            if self._calls % _SWEEP_EVERY == 0:
                forget_idle(tx.conn, now=now)
            return take(tx.conn, key, rate, now=now)

    def peek(self, key: str, rate: Rate, *, now: float) -> float:
        with self._store().read() as tx:
            return peek(tx.conn, key, rate, now=now)
