"""Queries on event subscriptions and their deliveries (the outbox).

A subscription's ``cursor_seq`` is the last change seq fanned out into its deliveries; the
fan-out moves it with one compare-and-set (:func:`store_batches`: the update takes the row's lock
and matches only while the cursor is where the fan-out's read found it), so
a batch is stored once however many processes fan out at the same time.

A delivery is *claimed* before it is sent: :func:`claim` sets ``lease_owner``/``lease_until``
only on rows nobody holds (PostgreSQL skips rows another transaction has locked), so each
attempt is made by one process. On PostgreSQL, where each statement is a round trip, the
fan-out's write (:func:`store_batches`), the claim and the outcomes are one statement each
(``store/outbox_pg.py``); on SQLite the cursors' compare-and-set and the outcomes are one each
whatever their number (``store/outbox_sqlite.py``). :func:`record_outcomes` clears the lease.
``lease_until`` is real time; ``next_attempt_at`` and the other times follow the directory's
clock. All are unix ms.

Order per entity: an open delivery's entity keys are also rows of ``delivery_keys``, inserted with
it (:func:`insert_batches`, :func:`replay_deliveries`) and deleted when its outcome ends it
(:func:`record_outcomes`) or with it (the foreign key cascades), so :func:`due_candidates` leaves
out in SQL a delivery that shares a key with an earlier open one of its subscription.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)

from openroster.model.changes import (
    OPEN_STATUSES,
    Delivery,
    DeliveryStatus,
    RenderedEvent,
    Subscription,
    SubscriptionStatus,
)
from openroster.store import outbox_pg, outbox_sqlite
from openroster.store.inserts import insert_many
from openroster.store.schema import change_records, deliveries, delivery_keys, subscriptions
from openroster.store.sql import column_values, from_columns

#: ``unseal(sealed, context)``: a sealed subscription key back in clear (the master key's).
Unseal = Callable[[bytes, str], str]


def key_context(subscription_id: str, name: str) -> str:
    """The sealing context of one of a subscription's keys (``token``, ``aes_key``)."""
    return f"subscription:{subscription_id}:{name}"


def _subscription(row: Any, unseal: Unseal) -> Subscription:
    return subscription_of(row._mapping, unseal)


def subscription_of(r: Mapping[str, Any], unseal: Unseal) -> Subscription:
    """A subscription from its row's columns by name, its keys unsealed."""
    token, aes = r["token_sealed"], r["aes_key_sealed"]
    return from_columns(
        Subscription,
        r,
        topics=tuple(orjson.loads(r["topics"])),
        token=None if token is None else unseal(token, key_context(r["id"], "token")),
        aes_key=None if aes is None else unseal(aes, key_context(r["id"], "aes_key")),
        status=SubscriptionStatus(r["status"]),
    )


def insert_subscription(
    conn: Connection, sub: Subscription, *, token_sealed: bytes | None, aes_key_sealed: bytes | None
) -> None:
    conn.execute(
        insert(subscriptions).values(
            {
                **column_values(sub, without={"token", "aes_key"}),
                "topics": orjson.dumps(list(sub.topics)).decode(),
                "token_sealed": token_sealed,
                "aes_key_sealed": aes_key_sealed,
                "status": sub.status.value,
            }
        )
    )


def get_subscription(conn: Connection, subscription_id: str, unseal: Unseal) -> Subscription | None:
    row = conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
    return None if row is None else _subscription(row, unseal)


def list_subscriptions(
    conn: Connection, tenant_id: str | None, unseal: Unseal, *, active_only: bool = False
) -> list[Subscription]:
    """The tenant's subscriptions (every tenant's for ``None``), by id."""
    q = _list_statement(tenant_id is not None, active_only)
    rows = conn.execute(q, {"tenant_id": tenant_id} if tenant_id is not None else {}).all()
    return [_subscription(r, unseal) for r in rows]


@functools.cache
def _list_statement(of_tenant: bool, active_only: bool) -> Select[Any]:
    """:func:`list_subscriptions`' statement, built once (every pass of the event engine runs it)."""
    q = select(subscriptions).order_by(subscriptions.c.id)
    if of_tenant:
        q = q.where(subscriptions.c.tenant_id == bindparam("tenant_id"))
    if active_only:
        q = q.where(subscriptions.c.status == SubscriptionStatus.ACTIVE.value)
    return q


def set_subscription_status(conn: Connection, subscription_id: str, status: SubscriptionStatus) -> bool:
    q = update(subscriptions).where(subscriptions.c.id == subscription_id).values(status=status.value)
    return bool(conn.execute(q).rowcount)


def advance_cursor(conn: Connection, subscription_id: str, seq: int) -> bool:
    """Move the subscription's cursor to ``seq``. True when the subscription is there."""
    q = update(subscriptions).where(subscriptions.c.id == subscription_id).values(cursor_seq=seq)
    return bool(conn.execute(q).rowcount)


def lagging(conn: Connection, before_ms: int) -> list[tuple[str, str, int]]:
    """``(id, tenant_id, cursor_seq)`` of the subscriptions whose next change record (the first
    after their cursor) was committed before ``before_ms``, by id: those a prune moves on past the
    retention. One statement for all, an index lookup each (a transaction's records share their
    commit time, so the first by seq will do)."""
    s, r = subscriptions.c, change_records.c
    next_at = (
        select(r.committed_at)
        .where(r.tenant_id == s.tenant_id, r.seq > s.cursor_seq)
        .order_by(r.seq)
        .limit(1)
        .scalar_subquery()
    )
    q = select(s.id, s.tenant_id, s.cursor_seq).where(next_at < before_ms).order_by(s.id)
    return [(row[0], row[1], row[2]) for row in conn.execute(q)]


def skip_records(
    conn: Connection, subscription_id: str, *, expect: int, seq: int, missed: int, missed_until: int
) -> bool:
    """Move the subscription's cursor from ``expect`` (a compare-and-set, as the fan-out's) on to
    ``seq`` past ``missed`` change records it never fanned out, pruned past the retention: they
    are added to its ``missed``, and ``missed_until`` becomes their latest commit time (unix ms)
    unless it was later already. True when it moved."""
    s = subscriptions.c
    q = (
        update(subscriptions)
        .where(s.id == subscription_id, s.cursor_seq == expect)
        .values(
            cursor_seq=seq,
            missed=s.missed + missed,
            missed_until=case((s.missed_until > missed_until, s.missed_until), else_=missed_until),
        )
    )
    return bool(conn.execute(q).rowcount)


def delete_subscription(conn: Connection, subscription_id: str) -> bool:
    """Delete a subscription (its deliveries go with it: the foreign key cascades)."""
    return bool(conn.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id)).rowcount)


def _delivery(row: Any) -> Delivery:
    r = row._mapping
    return from_columns(
        Delivery,
        r,
        entity_keys=tuple(orjson.loads(r["entity_keys"])),
        body=bytes(r["body"]),
        status=DeliveryStatus(r["status"]),
    )


def _fresh(now_ms: int) -> dict[str, object]:
    """The columns of a delivery not yet attempted, due now."""
    return {
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now_ms,
        "first_attempt_at": None,
        "lease_owner": None,
        "lease_until": None,
        "last_status": None,
        "last_error": None,
        "created": now_ms,
        "delivered_at": None,
    }


def insert_deliveries(
    conn: Connection, sub: Subscription, events: Sequence[RenderedEvent], now_ms: int
) -> None:
    """One pending delivery per event, due now, in the given (commit) order."""
    insert_batches(conn, [(sub, events)], now_ms)


def insert_batches(
    conn: Connection, batches: Sequence[tuple[Subscription, Sequence[RenderedEvent]]], now_ms: int
) -> None:
    """:func:`insert_deliveries` of several subscriptions in one statement, each batch in order."""
    fresh = _fresh(now_ms)
    _insert_open(
        conn,
        [
            (
                {
                    "subscription_id": sub.id,
                    "tenant_id": sub.tenant_id,
                    "event_id": e.event_id,
                    "seq": e.seq,
                    "topic": e.topic,
                    "operation": e.operation,
                    "entity_keys": orjson.dumps(list(e.entity_keys)).decode(),
                    "body": e.body,
                    **fresh,
                },
                e.entity_keys,
            )
            for sub, events in batches
            for e in events
        ],
    )


def _insert_open(conn: Connection, rows: Sequence[tuple[dict[str, Any], Sequence[str]]]) -> None:
    """Insert open deliveries (each row with its entity keys), in the given order, and their keys.

    The ids come back from the one ``INSERT ... RETURNING`` (SQLAlchemy pages a very large batch);
    a statement's rows take increasing ids in their order on both backends (SQLite's rowid, the
    sequence of PostgreSQL, which SQLAlchemy orders by the rows given), so the sorted ids are the
    rows' ids in order."""
    if not rows:
        return
    if conn.dialect.name == "sqlite" and outbox_sqlite.insert_open(conn, rows):
        return
    q = insert(deliveries).returning(
        deliveries.c.id, sort_by_parameter_order=conn.dialect.name == "postgresql"
    )
    ids = sorted(int(i) for i in conn.execute(q, [r for r, _ in rows]).scalars())
    insert_many(
        conn,
        delivery_keys,
        [
            {"subscription_id": r["subscription_id"], "entity_key": key, "delivery_id": i}
            for i, (r, keys) in zip(ids, rows, strict=True)
            for key in dict.fromkeys(keys)
        ],
    )


def store_batches(
    conn: Connection, batches: Sequence[tuple[Subscription, int, Sequence[RenderedEvent]]], now_ms: int
) -> set[str]:
    """The fan-out's write: for each ``(subscription, seq, events)``, move the subscription's cursor
    from ``subscription.cursor_seq`` (where the rendering read it) to ``seq`` with
    a compare-and-set (only while it is active and its cursor is still there), and insert the events
    of those that moved (:func:`insert_batches`); returns the ids of the subscriptions that moved.
    PostgreSQL does it all in one statement (``store/outbox_pg.py``); SQLite in one for the cursors
    (``store/outbox_sqlite.py``) and the inserts'."""
    if conn.dialect.name == "postgresql":
        return outbox_pg.store_batches(conn, batches, now_ms)
    moved = outbox_sqlite.store_cursors(conn, [(sub.id, seq, sub.cursor_seq) for sub, seq, _ in batches])
    insert_batches(conn, [(sub, events) for sub, _, events in batches if sub.id in moved], now_ms)
    return moved


def replay_deliveries(conn: Connection, subscription_id: str, since_ms: int, now_ms: int) -> int:
    """Queue again, as new pending deliveries due now, every retained delivery of the subscription
    created at or after ``since_ms`` that is not open, with its event id and body; returns how many."""
    q = (
        select(deliveries)
        .where(
            deliveries.c.subscription_id == subscription_id,
            deliveries.c.created >= since_ms,
            deliveries.c.status.not_in(_OPEN),
        )
        .order_by(deliveries.c.id)
    )
    rows = [r._mapping for r in conn.execute(q).all()]
    keep = (
        "subscription_id",
        "tenant_id",
        "event_id",
        "seq",
        "topic",
        "operation",
        "entity_keys",
        "body",
    )
    fresh = _fresh(now_ms)
    _insert_open(conn, [({**{k: r[k] for k in keep}, **fresh}, orjson.loads(r["entity_keys"])) for r in rows])
    return len(rows)


def get_delivery(conn: Connection, delivery_id: int) -> Delivery | None:
    row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return None if row is None else _delivery(row)


def list_deliveries(
    conn: Connection,
    tenant_id: str,
    *,
    subscription_id: str | None = None,
    status: DeliveryStatus | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[Delivery]:
    """The tenant's deliveries after ``after_id`` (keyset paging), oldest first."""
    q = select(deliveries).where(deliveries.c.tenant_id == tenant_id, deliveries.c.id > after_id)
    if subscription_id is not None:
        q = q.where(deliveries.c.subscription_id == subscription_id)
    if status is not None:
        q = q.where(deliveries.c.status == status.value)
    return [_delivery(r) for r in conn.execute(q.order_by(deliveries.c.id).limit(limit)).all()]


_OPEN = [s.value for s in OPEN_STATUSES]


def _unleased(wall_ms: int) -> ColumnElement[bool]:
    return or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < wall_ms)


@dataclass(frozen=True, slots=True)
class Due:
    """What :func:`due_candidates` found: ``deliveries`` to claim, oldest first, and the oldest due
    delivery held up behind an earlier open one of its entity (among those it looked through)."""

    deliveries: list[Delivery]
    held_up: Delivery | None
    #: Whether a subscription of those asked about (``capped``) has a due delivery left out.
    capped_due: bool = False


def _shares_an_earlier_key() -> ColumnElement[bool]:
    """The delivery shares an entity key with an earlier open delivery of its subscription (an
    index lookup per key: ``delivery_keys`` holds the open deliveries' keys, and the earlier one's
    status is checked by its primary key, so a stale key row of a delivery ended without deleting
    it, by a process of the code before migration 0012, holds nothing up)."""
    mine, earlier = delivery_keys.alias("mine"), delivery_keys.alias("earlier")
    before = deliveries.alias("before")
    return exists().where(
        mine.c.delivery_id == deliveries.c.id,
        earlier.c.subscription_id == mine.c.subscription_id,
        earlier.c.entity_key == mine.c.entity_key,
        earlier.c.delivery_id < mine.c.delivery_id,
        before.c.id == earlier.c.delivery_id,
        before.c.status.in_(_OPEN),
    )


def due_candidates(
    conn: Connection,
    now_ms: int,
    wall_ms: int,
    limit: int,
    *,
    waiting: Collection[str] = (),
    capped: Collection[str] = (),
) -> Due:
    """Up to ``limit`` open deliveries of active subscriptions whose time has come, that nobody
    holds and that share no entity key with an earlier open delivery of their subscription (order
    per entity: however many of one entity wait behind a retrying one, the others' are found
    after them), oldest first; leaving out those of the subscriptions ``waiting`` (the engine's
    Stream subscriptions without a connection in its process, and those it sends no more to for
    now: however many of theirs wait, the others' come first). One statement: with them, the
    oldest due delivery held up (looked for among the due ones up to the last found, or all of
    them when fewer than ``limit`` were), and whether one of the subscriptions ``capped`` (of the
    ``waiting``: those the caller sends no more to for now) has one due, left out for them."""
    params: dict[str, object] = {"now": now_ms, "wall": wall_ms}
    if waiting:
        params["waiting"] = sorted(waiting)
    if capped:
        params["capped"] = sorted(capped)
    found, held_up, capped_due = [], None, False
    for r in conn.execute(_due_statement(limit, bool(waiting), bool(capped)), params).all():
        if r.held == 2:
            capped_due = True
        elif r.held:
            held_up = _delivery(r)
        else:
            found.append(_delivery(r))
    found.sort(key=lambda d: d.id)
    return Due(found, held_up, capped_due)


@functools.cache
def _due_statement(limit: int, waiting: bool, capped: bool) -> CompoundSelect[Any]:
    """:func:`due_candidates`' statement (built once: it is run on every pass), its parameters
    ``now``, ``wall`` and, with ``waiting``, the subscriptions left out; with ``capped``, one row
    (``held`` 2) when a subscription of ``capped`` has a due delivery."""
    active = select(subscriptions.c.id).where(subscriptions.c.status == SubscriptionStatus.ACTIVE.value)
    d = deliveries.c
    due = [
        d.status.in_(_OPEN),
        d.next_attempt_at <= bindparam("now"),
        or_(d.lease_until.is_(None), d.lease_until < bindparam("wall")),
        d.subscription_id.in_(active),
    ]
    capped_one = (
        select(deliveries, literal(2).label("held"))
        .where(*due, d.subscription_id.in_(bindparam("capped", expanding=True)))
        .limit(1)
        .subquery()
    )
    if waiting:
        due.append(d.subscription_id.not_in(bindparam("waiting", expanding=True)))
    held = _shares_an_earlier_key()
    free = select(deliveries, literal(0).label("held")).where(*due, ~held).order_by(d.id)
    free_cte = free.limit(limit).cte("free")
    # Where the look for free ones stopped: the last one found when it found ``limit``.
    reached = select(case((func.count() >= limit, func.max(free_cte.c.id)))).select_from(free_cte)
    until = reached.scalar_subquery()
    first_held = (
        select(deliveries, literal(1).label("held"))
        .where(*due, held, or_(until.is_(None), d.id < until))
        .order_by(d.id)
        .limit(1)
        .subquery()
    )
    return union_all(select(free_cte), select(first_held), *([select(capped_one)] if capped else []))


def claim(
    conn: Connection,
    ids: Collection[int],
    owner: str,
    *,
    wall_ms: int,
    lease_ms: int,
    now_ms: int | None = None,
) -> list[int]:
    """Lease the deliveries of ``ids`` that are open and nobody holds (and, given ``now_ms``, are
    due by then) to ``owner`` until ``wall_ms + lease_ms``; returns the ids claimed. PostgreSQL
    locks them ``FOR UPDATE SKIP LOCKED`` in the same statement (``store/outbox_pg.py``), so two
    processes claiming at once never wait for each other and never claim the same row."""
    if not ids:
        return []
    if conn.dialect.name == "postgresql":
        return outbox_pg.claim(conn, ids, owner, wall_ms=wall_ms, lease_ms=lease_ms, now_ms=now_ms)
    return outbox_sqlite.claim(conn, ids, owner, wall_ms=wall_ms, lease_ms=lease_ms, now_ms=now_ms)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt at a delivery came to (see :func:`record_outcomes`)."""

    delivery_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: int
    first_attempt_at: int
    last_status: int | None
    last_error: str | None
    delivered_at: int | None

    def row(self) -> tuple[int, str, int, int, int, int | None, str | None, int | None]:
        """Its columns in the order the outcome statements take them (``store/outbox_pg.py``,
        ``store/outbox_sqlite.py``): id, status, attempts, next attempt, first attempt, last
        status, last error, delivered at."""
        return (
            self.delivery_id,
            self.status.value,
            self.attempts,
            self.next_attempt_at,
            self.first_attempt_at,
            self.last_status,
            self.last_error,
            self.delivered_at,
        )


def record_outcomes(conn: Connection, owner: str, outcomes: Sequence[Outcome]) -> int:
    """Write attempts' outcomes and release their leases; a delivery ``owner`` no longer holds is
    left alone. The entity keys of those it ended (delivered or dead) go: the next event of their
    entities is due. Of two outcomes of one delivery the first is written (it releases the lease
    the second needed). One statement on PostgreSQL (``store/outbox_pg.py``), one and the keys'
    delete on SQLite (``store/outbox_sqlite.py``). Returns how many were written."""
    first: dict[int, Outcome] = {}
    for o in outcomes:
        first.setdefault(o.delivery_id, o)
    if not first:
        return 0
    if conn.dialect.name == "postgresql":
        return outbox_pg.record_outcomes(conn, owner, list(first.values()))
    return outbox_sqlite.record_outcomes(conn, owner, list(first.values()))


def record_outcome(
    conn: Connection,
    delivery_id: int,
    owner: str,
    *,
    status: DeliveryStatus,
    attempts: int,
    next_attempt_at: int,
    first_attempt_at: int,
    last_status: int | None,
    last_error: str | None,
    delivered_at: int | None,
) -> bool:
    """Write one attempt's outcome and release the lease; False when ``owner`` no longer holds it."""
    outcome = Outcome(
        delivery_id,
        status,
        attempts,
        next_attempt_at,
        first_attempt_at,
        last_status,
        last_error,
        delivered_at,
    )
    return record_outcomes(conn, owner, [outcome]) == 1


def count_open(conn: Connection) -> int:
    """How many deliveries are still to be made (pending or retrying)."""
    return int(conn.execute(select(func.count()).where(deliveries.c.status.in_(_OPEN))).scalar_one())


def prune_finished(conn: Connection, *, delivered_before: int, dead_before: int, step: int) -> int:
    """Delete at most ``step`` of the deliveries delivered before ``delivered_before`` and the
    ``dead`` ones that died before ``dead_before`` (a dead delivery's ``next_attempt_at`` is the
    time of its last attempt); returns how many went."""
    d = deliveries.c
    gone = or_(
        and_(d.status == DeliveryStatus.DELIVERED.value, d.delivered_at < delivered_before),
        and_(d.status == DeliveryStatus.DEAD.value, d.next_attempt_at < dead_before),
    )
    step_ids = select(d.id).where(gone).limit(step).scalar_subquery()
    return int(conn.execute(delete(deliveries).where(d.id.in_(step_ids))).rowcount)
