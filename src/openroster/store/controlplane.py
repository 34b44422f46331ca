"""The control plane's state every server process on the store shares: the clock's offset, the
fault rules and the request journal (``openroster.control``).

Writes that change the clock, the rules or the journal's generation log a change under the
tenant ``""`` (kind :data:`CONTROL_KIND`, key :data:`CLOCK`, :data:`FAULTS` or :data:`JOURNAL`),
so every process learns of them the way it learns of any write: through the change log
(``core/runtime/cache.py``). A rule's ``times`` is spent with one conditional decrement, so it
fires exactly that many times whichever process answers. The journal is a bounded table that
each process appends its calls to in batches; the clock offset and the journal's bookkeeping
are rows of ``server_settings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)

from openroster.store.inserts import insert_many, upsert
from openroster.store.schema import fault_rules, journal_entries, server_settings

#: The change-log kind of control-plane state, and its keys.
CONTROL_KIND = "control"
CLOCK = "clock"
FAULTS = "faults"
JOURNAL = "journal"

_CLOCK_OFFSET = "control/clock-offset"
_JOURNAL_GENERATION = "control/journal-generation"
_JOURNAL_DROPPED = "control/journal-dropped"


#: A row of ``server_settings`` (made once: making a statement costs more than running it).
_SETTING = select(server_settings.c.value).where(server_settings.c.key == bindparam("key"))


def _setting(conn: Connection, key: str) -> str | None:
    value = conn.execute(_SETTING, {"key": key}).scalar()
    return None if value is None else str(value)


def _put(conn: Connection, key: str, value: str) -> None:
    upsert(conn, server_settings, [{"key": key, "value": value}], key=["key"], update_columns=["value"])


# -- the clock ---------------------------------------------------------------------------------


def clock_offset(conn: Connection) -> float:
    """Seconds the servers' clock is ahead of real time (0 when it was never moved)."""
    raw = _setting(conn, _CLOCK_OFFSET)
    return 0.0 if raw is None else float(raw)


def set_clock_offset(conn: Connection, seconds: float) -> None:
    _put(conn, _CLOCK_OFFSET, repr(float(seconds)))


# -- fault rules -------------------------------------------------------------------------------


def add_fault(conn: Connection, spec: dict[str, Any], remaining: int | None) -> int:
    """Store a rule; returns its number (never given before)."""
    return int(
        conn.execute(
            insert(fault_rules)
            .values(spec=orjson.dumps(spec).decode(), remaining=remaining, hits=0)
            .returning(fault_rules.c.id)
        ).scalar_one()
    )


def faults(conn: Connection) -> list[tuple[int, dict[str, Any], int | None, int]]:
    """``(number, spec, remaining, hits)`` of every rule, in the order they were added."""
    t = fault_rules
    rows = conn.execute(select(t.c.id, t.c.spec, t.c.remaining, t.c.hits).order_by(t.c.id)).all()
    return [(int(r[0]), orjson.loads(r[1]), None if r[2] is None else int(r[2]), int(r[3])) for r in rows]


def delete_fault(conn: Connection, number: int) -> bool:
    return bool(conn.execute(delete(fault_rules).where(fault_rules.c.id == number)).rowcount)


def clear_faults(conn: Connection) -> int:
    return int(conn.execute(delete(fault_rules)).rowcount)


def take_fault(conn: Connection, number: int, *, limited: bool) -> int | None:
    """Count a hit of rule ``number``; a ``limited`` one only while it has times left (one
    conditional decrement: two processes never both take its last time). Returns the times left
    (``-1`` for an unlimited rule), or None when the rule is spent or gone."""
    t = fault_rules
    stmt = update(t).where(t.c.id == number)
    if limited:
        stmt = stmt.where(t.c.remaining > 0).values(remaining=t.c.remaining - 1, hits=t.c.hits + 1)
    else:
        stmt = stmt.values(hits=t.c.hits + 1)
    left = conn.execute(stmt.returning(func.coalesce(t.c.remaining, -1))).scalar()
    return None if left is None else int(left)


# -- the journal -------------------------------------------------------------------------------


def encode_headers(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    return orjson.dumps([(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers])


def decode_headers(raw: bytes) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in orjson.loads(raw))


#: The columns of a journal row, in the order of ``control.journal.Entry``'s fields, then the app.
JOURNAL_COLUMNS = (
    "id",
    "at",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "body_size",
    "status",
    "reply_head",
    "latency",
    "request_id",
    "fault",
    "app",
)


def _width(column: str) -> int:
    kind = journal_entries.c[column].type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


#: The widest text the journal's bounded text columns hold (PostgreSQL refuses a longer one).
JOURNAL_WIDTHS = {column: _width(column) for column in ("method", "request_id", "fault", "app")}


def journal_generation(conn: Connection, *, lock: bool = False) -> int:
    """How many times the journal was emptied. ``lock`` (in a write transaction): hold its row
    until commit, so the journal cannot be emptied between this read and an append."""
    if not lock:
        raw = _setting(conn, _JOURNAL_GENERATION)
        return 0 if raw is None else int(raw)
    conn.execute(_generation_row(conn.dialect.name))
    return int(conn.execute(_GENERATION_LOCKED).scalar_one())


#: The journal's generation row, made when missing, by dialect (:func:`_generation_row`).
_GENERATION_ROW: dict[str, Any] = {}


def _generation_row(dialect_name: str) -> Any:
    """The statement making the journal's generation row when missing, made once a dialect, when
    first run: importing SQLAlchemy's PostgreSQL dialect is 30 ms of every command line start that
    opens a store (an import into SQLite has no use for it)."""
    found = _GENERATION_ROW.get(dialect_name)
    if found is None:
        from sqlalchemy.dialects import postgresql, sqlite

        made: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect_name](server_settings)
        found = _GENERATION_ROW[dialect_name] = made.values(
            key=_JOURNAL_GENERATION, value="0"
        ).on_conflict_do_nothing(index_elements=["key"])
    return found


_GENERATION_LOCKED = (
    select(server_settings.c.value).where(server_settings.c.key == _JOURNAL_GENERATION).with_for_update()
)


#: The statements every append runs, made once (making one costs more than running it).
#: The journal's entries beyond the newest ``keep``, in one statement (its subquery, not correlated,
#: is evaluated once: the newest id, from the key's index).
_TRIM = delete(journal_entries).where(
    journal_entries.c.id <= select(func.max(journal_entries.c.id)).scalar_subquery() - bindparam("keep")
)

#: Calls dropped added to the journal's count in one statement (no read of it first).
_ADD_DROPPED = (
    update(server_settings)
    .where(server_settings.c.key == _JOURNAL_DROPPED)
    .values(value=cast(cast(server_settings.c.value, BigInteger) + bindparam("gone", type_=BigInteger), Text))
)


def append_journal(
    conn: Connection, rows: Sequence[dict[str, Any]], *, keep: int, generation: int, dropped: int = 0
) -> int:
    """Append calls (``rows`` without ``id``; ``headers`` encoded) recorded while the journal was
    at ``generation``, and drop the oldest beyond the newest ``keep``. Calls recorded before the
    journal was last emptied are not appended. ``dropped``: calls the process dropped before it
    could append them. Returns the journal's generation (the rows went in if it is ``generation``)."""
    current = journal_generation(conn, lock=True)
    if current != generation:
        return current
    insert_many(conn, journal_entries, rows, as_given=True)  # floats and bytes, as the journal makes them
    gone = dropped + int(conn.execute(_TRIM, {"keep": keep}).rowcount)
    if gone and not conn.execute(_ADD_DROPPED, {"gone": gone}).rowcount:  # its first drop
        _put(conn, _JOURNAL_DROPPED, str(gone))
    return current


def journal_rows(
    conn: Connection, *, after: int | None, before: int | None, limit: int
) -> list[tuple[Any, ...]]:
    """Up to ``limit`` journal rows (:data:`JOURNAL_COLUMNS`) newer than ``after`` and older than
    ``before``, newest first."""
    t = journal_entries
    q = select(*(t.c[name] for name in JOURNAL_COLUMNS)).order_by(t.c.id.desc()).limit(limit)
    if after is not None:
        q = q.where(t.c.id > after)
    if before is not None:
        q = q.where(t.c.id < before)
    return [tuple(r) for r in conn.execute(q)]


def journal_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(journal_entries)).scalar_one())


def delete_journal(conn: Connection, ids: Sequence[int]) -> int:
    gone = 0
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        gone += int(conn.execute(delete(journal_entries).where(journal_entries.c.id.in_(chunk))).rowcount)
    return gone


def clear_journal(conn: Connection) -> int:
    """Empty the journal (and its count of dropped calls); returns how many calls went. Calls the
    processes recorded before and have not appended yet will not be (:func:`append_journal`)."""
    generation = journal_generation(conn, lock=True)
    gone = int(conn.execute(delete(journal_entries)).rowcount)
    _put(conn, _JOURNAL_DROPPED, "0")
    _put(conn, _JOURNAL_GENERATION, str(generation + 1))
    return gone


def journal_dropped(conn: Connection) -> int:
    raw = _setting(conn, _JOURNAL_DROPPED)
    return 0 if raw is None else int(raw)
