"""The change counter, the change log and the change records.

The change log is how every process learns what another one wrote (cache invalidation);
the change records (``model/changes.py``) are the typed changes the event engine fans out.
Both are written under the same counter value, in the writing transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import takewhile

import orjson
from sqlalchemy import Connection, delete, func, select, update

from openroster.model.changes import ChangeRecord, EntityKind, Operation, StoredChange
from openroster.store import schema
from openroster.store.inserts import insert_many, insert_values
from openroster.store.sql import Fixed, held, hold


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    tenant_id: str
    kind: str
    key: str


# Built once: every write runs these (building a statement per call cost several times running it).
_COUNTER = select(schema.change_counter.c.seq).where(schema.change_counter.c.id == 1)
_BUMP = (
    update(schema.change_counter)
    .where(schema.change_counter.c.id == 1)
    .values(seq=schema.change_counter.c.seq + 1)
    .returning(schema.change_counter.c.seq)
)


def current_seq(conn: Connection) -> int:
    """The change counter as this transaction sees it."""
    return int(conn.execute(_COUNTER).scalar_one())


_COUNTER_LOCKED = _COUNTER.with_for_update()
#: The change counter's row lock, as the driver runs it.
_LOCK_SQL = "SELECT seq FROM change_counter WHERE id = 1 FOR UPDATE"


def hold_counter_lock(conn: Connection) -> None:
    """Take the change counter's row lock before anything else rather than at :func:`publish`
    (PostgreSQL; a SQLite writer holds the database's write lock from ``BEGIN IMMEDIATE`` on): the
    transaction then runs alone among the store's writers, so the row locks its jobs take, in
    whatever order, can close no deadlock with another writer's. Held (``sql.hold``): it goes
    with the transaction's first statement, before it, in the same round trip; the row missing,
    that statement fails (``NoResultFound``), as taking the lock at once does."""
    if held(conn) is None:
        conn.execute(_COUNTER_LOCKED).scalar_one()
    else:
        hold(conn, _LOCK_SQL)


def since(conn: Connection, seq: int, limit: int) -> Sequence[Change]:
    """The changes after ``seq``, oldest first, at most ``limit`` of them."""
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


def prune_log(conn: Connection, keep: int, step: int) -> int:
    """Delete at most ``step`` of the oldest change-log entries beyond the newest ``keep``, never
    part of one transaction's entries (a transaction's entries go or stay together, so a process
    that replays the log sees each transaction whole or not at all); returns how many went. Only
    when the oldest transaction alone has more than ``step`` entries do more go: all of them.

    Entry ids grow in commit order (they are taken after the counter bump, under its lock).
    """
    log = schema.change_log
    newest = conn.execute(select(func.max(log.c.id))).scalar()
    if newest is None or keep < 1:
        return 0
    # The oldest entry kept, then the first entry of its transaction: everything before that goes.
    kept_seq = select(log.c.seq).where(log.c.id > int(newest) - keep).order_by(log.c.id).limit(1)
    cut = conn.execute(select(func.min(log.c.id)).where(log.c.seq == kept_seq.scalar_subquery())).scalar()
    oldest = conn.execute(select(func.min(log.c.id))).scalar()
    if cut is None or oldest is None or int(oldest) >= int(cut):
        return 0
    upto = int(oldest) + step
    if upto < int(cut):
        # The step ends inside (or at the start of) a transaction: it stops at that transaction's
        # first entry, or, when that is the oldest transaction (more than a step of entries), after
        # its last: a cache catching up must never find a transaction's entries in part.
        at = select(log.c.seq).where(log.c.id >= upto).order_by(log.c.id).limit(1).scalar_subquery()
        upto = int(conn.execute(select(func.min(log.c.id)).where(log.c.seq == at)).scalar_one())
        if upto <= int(oldest):
            upto = int(conn.execute(select(func.min(log.c.id)).where(log.c.seq > at)).scalar_one())
    else:
        upto = int(cut)
    return int(conn.execute(delete(log).where(log.c.id < upto)).rowcount)


def publish(
    conn: Connection,
    changed: Iterable[tuple[str, str, str]],
    records: Sequence[ChangeRecord] = (),
    *,
    committed_at: int = 0,
) -> int:
    """Bump the counter; log ``(tenant_id, kind, key)`` and write ``records`` under the new value.

    ``committed_at`` is unix ms. The bump takes the counter's row lock, so writers are serialized
    here and seq order is commit order. Returns the new seq.
    """
    if conn.dialect.name == "postgresql":
        return _publish_in_one(conn, sorted(changed), records, committed_at)
    seq = int(conn.execute(_BUMP).scalar_one())
    log = [{"seq": seq, "tenant_id": t, "kind": k, "entity_key": key} for (t, k, key) in sorted(changed)]
    insert_many(conn, schema.change_log, log)
    rows = [_record_row(seq, n, r, committed_at) for n, r in enumerate(records)]
    if rows:
        # Many records a statement, in buckets of row counts, so a write of one record runs the
        # same cached statement.
        limit = conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
        run = conn.exec_driver_sql
        table = schema.change_records.name
        insert_values(run, run, table, _RECORD_COLUMNS, rows, limit, RECORDS_A_STATEMENT)
    return seq


#: The most change records a SQLite statement inserts (:func:`publish`). An import's 100,000
#: took 0.38-0.43 s of CPU as one ``executemany`` or in statements as large as SQLite takes
#: (22,727 records where it takes 250,000 parameters: such statements cost more to prepare than
#: they save, and stay in the statement cache of the connection), 0.29 s in statements of at most
#: 256, 1,024 or 2,978 (three runs each, side by side).
RECORDS_A_STATEMENT = 1024


#: :func:`publish` on PostgreSQL: the bump, the log and the records in one statement (one round
#: trip, two inserts of arrays instead of a statement a row). The inserts read the bump's new
#: value, so they run after it took the counter's row lock (held since the transaction's first
#: statement anyway): log ids still grow in commit order. ``WITH ORDINALITY`` keeps the entries'
#: order and numbers the records from 1.
_PUBLISH = """WITH bump AS (
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq
), logged AS (
    INSERT INTO change_log (seq, tenant_id, kind, entity_key)
    SELECT bump.seq, e.tenant_id, e.kind, e.entity_key
    FROM bump, unnest(%(log_tenant)b::text[], %(log_kind)b::text[], %(log_key)b::text[])
        WITH ORDINALITY AS e(tenant_id, kind, entity_key, i)
    ORDER BY e.i
), recorded AS (
    INSERT INTO change_records (seq, n, tenant_id, kind, op, entity_id, fields, before, actor, after,
        committed_at)
    SELECT bump.seq, r.i - 1, r.tenant_id, r.kind, r.op, r.entity_id, r.fields, r.before, r.actor,
        r.after, %(committed_at)s::bigint
    FROM bump, unnest(%(tenant_id)b::text[], %(kind)b::text[], %(op)b::text[], %(entity_id)b::text[],
        %(fields)b::text[], %(before)b::text[], %(actor)b::text[], %(after)b::text[])
        WITH ORDINALITY AS r(tenant_id, kind, op, entity_id, fields, before, actor, after, i)
)
SELECT seq FROM bump"""


def _publish_in_one(
    conn: Connection, log: list[tuple[str, str, str]], records: Sequence[ChangeRecord], committed_at: int
) -> int:
    rows = [_record_row(0, n, r, committed_at)[2:10] for n, r in enumerate(records)]
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(8)]
    params: dict[str, object] = {
        "log_tenant": [e[0] for e in log],
        "log_kind": [e[1] for e in log],
        "log_key": [e[2] for e in log],
        "committed_at": committed_at,
    }
    params.update(zip(_RECORD_COLUMNS[2:10], columns, strict=True))
    return int(conn.exec_driver_sql(_PUBLISH, params).scalar_one())


#: The columns of a change record's row, in the order :func:`_record_row` gives them.
_RECORD_COLUMNS = (
    "seq",
    "n",
    "tenant_id",
    "kind",
    "op",
    "entity_id",
    "fields",
    "before",
    "actor",
    "after",
    "committed_at",
)


def _record_row(seq: int, n: int, r: ChangeRecord, committed_at: int) -> tuple[object, ...]:
    return (
        seq,
        n,
        r.tenant_id,
        r.kind.value,
        r.op.value,
        r.entity_id,
        orjson.dumps(list(r.fields)).decode() if r.fields else "[]",
        None if r.before is None else orjson.dumps(dict(r.before)).decode(),
        r.actor,
        None if r.after is None else orjson.dumps(dict(r.after)).decode(),
        committed_at,
    )


_READ_COLUMNS = 'seq, n, committed_at, kind, op, entity_id, fields, "before", actor, "after"'
#: :func:`records_after`'s statements, fixed texts (every pass of the event engine runs one): the
#: records after ``seq`` (at most ``limit``), and those of the transaction ``seq``.
_RECORDS_AFTER = Fixed(
    f"SELECT {_READ_COLUMNS} FROM change_records WHERE tenant_id = :tenant_id AND seq > :seq"
    " ORDER BY seq, n LIMIT :limit"
)
_RECORDS_OF = Fixed(
    f"SELECT {_READ_COLUMNS} FROM change_records WHERE tenant_id = :tenant_id AND seq = :seq ORDER BY n"
)


def records_after(conn: Connection, tenant_id: str, seq: int, limit: int) -> list[StoredChange]:
    """The tenant's change records after ``seq``, in commit order: about ``limit`` of them, never
    splitting one transaction's records (a batch ends on a whole transaction)."""
    rows = _RECORDS_AFTER.rows(conn, {"tenant_id": tenant_id, "seq": seq, "limit": limit})
    if len(rows) == limit:
        last = rows[-1][0]
        rows = [r for r in rows if r[0] != last]
        if not rows:  # one transaction larger than the batch: take it whole
            rows = _RECORDS_OF.rows(conn, {"tenant_id": tenant_id, "seq": last})
    return [
        StoredChange(
            seq=r[0],
            n=r[1],
            committed_at=r[2],
            record=ChangeRecord(
                tenant_id=tenant_id,
                kind=EntityKind(r[3]),
                op=Operation(r[4]),
                entity_id=r[5],
                fields=tuple(orjson.loads(r[6])),
                before=None if r[7] is None else orjson.loads(r[7]),
                actor=r[8],
                after=None if r[9] is None else orjson.loads(r[9]),
            ),
        )
        for r in rows
    ]


def prune_records(conn: Connection, upto_seq: int, step: int | None = None) -> int:
    """Delete the change records every subscription of their tenant has fanned out (those of a
    tenant without subscriptions up to ``upto_seq``), at most ``step`` of the oldest of them;
    returns how many went."""
    r, s = schema.change_records, schema.subscriptions
    cursor = select(func.min(s.c.cursor_seq)).where(s.c.tenant_id == r.c.tenant_id).scalar_subquery()
    prunable = r.c.seq <= func.coalesce(cursor, upto_seq)
    if step is not None:
        # The step's last record: the ``step``-th prunable one, in commit order (none: fewer).
        last = conn.execute(
            select(r.c.seq, r.c.n).where(prunable).order_by(r.c.seq, r.c.n).offset(step - 1).limit(1)
        ).first()
        if last is not None:
            prunable = prunable & ((r.c.seq < last.seq) | ((r.c.seq == last.seq) & (r.c.n <= last.n)))
    return int(conn.execute(delete(r).where(prunable)).rowcount)


@dataclass(frozen=True, slots=True)
class Expired:
    """A run of a tenant's change records, whole transactions, all committed before a moment: what
    a subscription whose cursor is before them misses once they are pruned."""

    #: The seq of the run's last transaction: where the subscription's cursor moves.
    last_seq: int
    count: int
    #: The latest commit time among them (unix ms).
    newest_at: int


def expired_after(conn: Connection, tenant_id: str, seq: int, before_ms: int, step: int) -> Expired | None:
    """The tenant's change records after ``seq`` committed before ``before_ms``, up to the first
    one committed at or after it (so only the oldest run: a record kept never follows a pruned
    one), about ``step`` of them and never part of a transaction (one larger than ``step`` is taken
    whole); None when the first record after ``seq`` is not that old."""
    t = schema.change_records
    after = select(t.c.seq, t.c.committed_at).where(t.c.tenant_id == tenant_id, t.c.seq > seq)
    first = conn.execute(after.order_by(t.c.seq, t.c.n).limit(1)).first()
    if first is None or first.committed_at >= before_ms:
        return None
    rows = conn.execute(after.order_by(t.c.seq, t.c.n).limit(step)).all()
    # A transaction's records share their commit time: a run stopped by a younger record is whole.
    old = list(takewhile(lambda r: r.committed_at < before_ms, rows))
    if len(old) == step and (whole := [r for r in old if r.seq != old[-1].seq]):
        old = whole  # the step may end inside a transaction: leave that one for the next step
    elif len(old) == step:  # one transaction larger than the step: take it whole
        last = old[-1].seq
        count = conn.execute(select(func.count()).where(t.c.tenant_id == tenant_id, t.c.seq == last))
        return Expired(last, int(count.scalar_one()), max(r.committed_at for r in old))
    return Expired(old[-1].seq, len(old), max(r.committed_at for r in old))
