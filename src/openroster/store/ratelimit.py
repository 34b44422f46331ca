"""Rate limits kept in the store, so every server process on it counts against one budget.

A token bucket per key (see ``core/runtime/throttle.py``), read and written in one
short write transaction per call: SQLite serialises writers (``BEGIN
IMMEDIATE``), PostgreSQL locks the bucket's row (``SELECT ... FOR UPDATE``), so
two processes never both take the last token. Buckets live in the
``server_settings`` table under ``rate/<hash of the key>`` (no schema change
needed; a bucket is two numbers). Only endpoints that have a rate pay for this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from openroster.model.rate import Rate
from openroster.store.base import Store
from openroster.store.schema import server_settings

_PREFIX = "rate/"


def _row_key(key: str) -> str:
    return _PREFIX + hashlib.sha256(key.encode()).hexdigest()[:40]


def take(conn: Connection, key: str, rate: Rate, *, now: float) -> float:
    """Inside a write transaction: take one token from ``key``'s bucket, or say how long to wait."""
    row_key = _row_key(key)
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        make(server_settings)
        .values(key=row_key, value=f"{float(rate.calls)!r}|{now!r}")
        .on_conflict_do_nothing(index_elements=["key"])
    )
    raw = conn.execute(
        select(server_settings.c.value).where(server_settings.c.key == row_key).with_for_update()
    ).scalar_one()
    refill = rate.calls / rate.per_seconds
    tokens_s, _, last_s = str(raw).partition("|")
    try:
        tokens, last = float(tokens_s), float(last_s)
    except ValueError:
        tokens, last = float(rate.calls), now
    tokens = min(float(rate.calls), tokens + max(0.0, now - last) * refill)
    wait = 0.0
    if tokens >= 1.0:
        tokens -= 1.0
    else:
        wait = (1.0 - tokens) / refill
    conn.execute(
        update(server_settings).where(server_settings.c.key == row_key).values(value=f"{tokens!r}|{now!r}")
    )
    return wait


class StoreRateLimiter:
    """A rate limiter (the throttle's ``RateLimiter`` protocol) shared through the store.

    ``store`` is a callable so the limiter can be made before the server opens
    its store (the routes are mounted first).
    """

    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store

    def acquire(self, key: str, rate: Rate, *, now: float) -> float:
        with self._store().write() as tx:
            return take(tx.conn, key, rate, now=now)
