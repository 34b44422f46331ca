"""The outbox's writes on PostgreSQL, each one statement (one round trip) whatever it carries.

``store/outbox.py`` runs these in place of its several statements when the connection is
PostgreSQL's: there each statement is a round trip to the server, and a pass of the event engine
(``events/engine.py``) paid about ten of them. Each takes its rows as arrays (``unnest``), so its
text is the same whatever the number of subscriptions, events or outcomes, and data-modifying CTEs
chain the steps:

- :func:`store_batches`: every subscription's row locked in id order (an ``UPDATE ... FROM
  unnest(...)`` locks in its plan's order, heap order when it scans the table, and two fan-outs of
  overlapping sets could deadlock; the per-cursor statements before it went in id order), then
  its cursor's compare-and-set, the deliveries of those that moved (in the given order:
  PostgreSQL numbers an ``INSERT ... SELECT ... ORDER BY``'s rows in that order, which
  SQLAlchemy's own ``sort_by_parameter_order`` relies on) and their entity keys;
- :func:`claim`: the ``FOR UPDATE SKIP LOCKED`` lock and the lease in one ``UPDATE``;
- :func:`record_outcomes`: the outcomes, and the keys of the deliveries they ended (only of those
  whose lease ``owner`` still held: the rows the update returns).

SQLite's own are in ``store/outbox_sqlite.py`` (no data-modifying CTEs there: a step that writes
another table is a statement of its own).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    Integer,
    LargeBinary,
    String,
    Text,
    TextClause,
    bindparam,
    text,
)

from openroster.model.changes import OPEN_STATUSES, RenderedEvent, Subscription

if TYPE_CHECKING:
    from openroster.store.outbox import Outcome

_OPEN = [s.value for s in OPEN_STATUSES]

_STORE = text(
    """
WITH locked AS MATERIALIZED (
    SELECT s.id, m.seq, m.expect FROM subscriptions AS s
    JOIN unnest(CAST(:c_ids AS varchar[]), CAST(:c_seqs AS bigint[]), CAST(:c_expects AS bigint[]))
        AS m(id, seq, expect) ON s.id = m.id
    ORDER BY s.id FOR UPDATE OF s
), moved AS (
    UPDATE subscriptions AS s SET cursor_seq = l.seq FROM locked AS l
    WHERE s.id = l.id AND s.cursor_seq = l.expect AND s.status = 'active'
    RETURNING s.id
), made AS (
    INSERT INTO deliveries (subscription_id, tenant_id, event_id, seq, topic, operation,
                            entity_keys, body, status, attempts, next_attempt_at, created)
    SELECT e.sid, e.tenant, e.event_id, e.seq, e.topic, e.op, e.keys, e.body, 'pending', 0, :now, :now
    FROM unnest(CAST(:e_sids AS varchar[]), CAST(:e_tenants AS varchar[]), CAST(:e_ids AS varchar[]),
                CAST(:e_seqs AS bigint[]), CAST(:e_topics AS varchar[]), CAST(:e_ops AS varchar[]),
                CAST(:e_keys AS text[]), CAST(:e_bodies AS bytea[]))
        WITH ORDINALITY AS e(sid, tenant, event_id, seq, topic, op, keys, body, n)
    WHERE e.sid IN (SELECT id FROM moved)
    ORDER BY e.n
    RETURNING id, subscription_id, entity_keys
), keyed AS (
    INSERT INTO delivery_keys (subscription_id, entity_key, delivery_id)
    SELECT DISTINCT made.subscription_id, k.key, made.id
    FROM made, json_array_elements_text(CAST(made.entity_keys AS json)) AS k(key)
)
SELECT id FROM moved
"""
).bindparams(
    *(
        bindparam(n, type_=ARRAY(String))
        for n in ("c_ids", "e_sids", "e_tenants", "e_ids", "e_topics", "e_ops")
    ),
    *(bindparam(n, type_=ARRAY(BigInteger)) for n in ("c_seqs", "c_expects", "e_seqs")),
    bindparam("e_keys", type_=ARRAY(Text)),
    bindparam("e_bodies", type_=ARRAY(LargeBinary)),
)


def store_batches(
    conn: Connection, batches: Sequence[tuple[Subscription, int, Sequence[RenderedEvent]]], now_ms: int
) -> set[str]:
    """``outbox.store_batches`` in one statement: each subscription's cursor moved from
    ``subscription.cursor_seq`` to the batch's seq (only while it is active and the cursor is still
    there: the fan-out's compare-and-set; the row's lock is held to the commit), the deliveries of
    those that moved inserted, pending and due at ``now_ms``, with their entity keys. Returns the
    ids of the subscriptions that moved."""
    if not batches:
        return set()
    events = [
        (
            sub.id,
            sub.tenant_id,
            e.event_id,
            e.seq,
            e.topic,
            e.operation,
            orjson.dumps(list(e.entity_keys)).decode(),
            e.body,
        )
        for sub, _, es in batches
        for e in es
    ]
    names = ("e_sids", "e_tenants", "e_ids", "e_seqs", "e_topics", "e_ops", "e_keys", "e_bodies")
    params: dict[str, object] = {name: [e[i] for e in events] for i, name in enumerate(names)}
    params.update(
        c_ids=[sub.id for sub, _, _ in batches],
        c_expects=[sub.cursor_seq for sub, _, _ in batches],
        c_seqs=[seq for _, seq, _ in batches],
        now=now_ms,
    )
    return {str(i) for i in conn.execute(_STORE, params).scalars()}


def _claim_statement(due_by: bool) -> TextClause:
    due = "AND next_attempt_at <= :now" if due_by else ""
    return text(
        f"""
UPDATE deliveries SET lease_owner = :owner, lease_until = :until
WHERE id IN (
    SELECT id FROM deliveries
    WHERE id = ANY(CAST(:ids AS bigint[])) AND status = ANY(CAST(:open AS varchar[]))
        AND (lease_until IS NULL OR lease_until < :wall) {due}
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""
    ).bindparams(bindparam("ids", type_=ARRAY(BigInteger)), bindparam("open", _OPEN, type_=ARRAY(String)))


_CLAIM = {due_by: _claim_statement(due_by) for due_by in (False, True)}


def claim(
    conn: Connection, ids: Collection[int], owner: str, *, wall_ms: int, lease_ms: int, now_ms: int | None
) -> list[int]:
    """``outbox.claim`` in one statement: the rows nobody holds are locked, skipping those another
    transaction has locked, and leased to ``owner``."""
    params: dict[str, object] = {
        "ids": list(ids),
        "owner": owner,
        "until": wall_ms + lease_ms,
        "wall": wall_ms,
    }
    if now_ms is not None:
        params["now"] = now_ms
    return sorted(int(i) for i in conn.execute(_CLAIM[now_ms is not None], params).scalars())


_RECORD = text(
    """
WITH written AS (
    UPDATE deliveries AS d SET status = o.status, attempts = o.attempts, next_attempt_at = o.next,
        first_attempt_at = o.first, last_status = o.last_status, last_error = o.last_error,
        delivered_at = o.delivered, lease_owner = NULL, lease_until = NULL
    FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS varchar[]), CAST(:attempts AS integer[]),
                CAST(:nexts AS bigint[]), CAST(:firsts AS bigint[]), CAST(:last_statuses AS integer[]),
                CAST(:last_errors AS text[]), CAST(:delivered AS bigint[]))
        AS o(id, status, attempts, next, first, last_status, last_error, delivered)
    WHERE d.id = o.id AND d.lease_owner = :owner
    RETURNING d.id, d.status
), forgotten AS (
    DELETE FROM delivery_keys
    WHERE delivery_id IN (SELECT id FROM written WHERE status <> ALL(CAST(:open AS varchar[])))
)
SELECT count(*) FROM written
"""
).bindparams(
    *(bindparam(n, type_=ARRAY(BigInteger)) for n in ("ids", "nexts", "firsts", "delivered")),
    *(bindparam(n, type_=ARRAY(Integer)) for n in ("attempts", "last_statuses")),
    bindparam("statuses", type_=ARRAY(String)),
    bindparam("last_errors", type_=ARRAY(Text)),
    bindparam("open", _OPEN, type_=ARRAY(String)),
)


def record_outcomes(conn: Connection, owner: str, outcomes: Sequence[Outcome]) -> int:
    """``outbox.record_outcomes`` in one statement: the outcomes written where ``owner`` still
    holds the lease, and the entity keys of the deliveries they ended deleted. ``outcomes`` has one
    outcome per delivery (the statement, given two, would take either). Returns how many it wrote."""
    names = ("ids", "statuses", "attempts", "nexts", "firsts", "last_statuses", "last_errors", "delivered")
    rows = [o.row() for o in outcomes]
    params: dict[str, object] = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    params["owner"] = owner
    return int(conn.execute(_RECORD, params).scalar_one())
