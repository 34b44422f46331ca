"""The event engine's pass read of its subscriptions (``events/engine.py``): one fixed statement.

Every pass of the engine reads the active subscriptions, their tenant's platform ids and, for
WPS, their app's secret: once three statements built by SQLAlchemy (and one more per tenant and
app), now one text run on the driver (``sql.Fixed``). Every pass reads them, so a subscription
paused, resumed, changed or deleted, a tenant's ids or an app's secret changed, by any process,
takes effect in the next pass; what a pass need not do again is decode them: a row the last pass
read the same (its cursor aside) keeps its channel context (:func:`active_contexts`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, and_, select

from openroster.model.changes import ChannelContext, DeliveryStatus, SubscriptionStatus
from openroster.store.outbox import Unseal, subscription_of
from openroster.store.schema import deliveries, delivery_keys, subscriptions
from openroster.store.sql import Fixed

#: A row of :data:`_ACTIVE` but its cursor: what a pass's channel context is made of.
Row = tuple[Any, ...]

#: The subscription's columns (all but its cursor), then its tenant's and its app's.
_COLUMNS = tuple(c.name for c in subscriptions.c if c.name != "cursor_seq")
_ACTIVE = Fixed(
    f"""
SELECT {", ".join(f"s.{c}" for c in _COLUMNS)}, t.wps_company_id, t.dingtalk_corp_id,
    a.secret_sealed, s.cursor_seq
FROM subscriptions AS s
LEFT JOIN tenants AS t ON t.id = s.tenant_id
LEFT JOIN apps AS a ON a.client_id = s.app AND s.kind = 'wps'
WHERE s.status = '{SubscriptionStatus.ACTIVE.value}'
ORDER BY s.id
"""
)


def active_contexts(
    conn: Connection, unseal: Unseal, unseal_app: Unseal, known: Mapping[Row, ChannelContext]
) -> dict[Row, ChannelContext]:
    """The channel context of every active subscription (by id), each under its row but the
    cursor, in one statement: a row in ``known`` (the last pass's answer) keeps its context, with
    the cursor read now; another is decoded (``unseal`` the subscription's keys, ``unseal_app``
    an app's secret with its client id as the context)."""
    found: dict[Row, ChannelContext] = {}
    for r in _ACTIVE.rows(conn):
        row, cursor = r[:-1], r[-1]
        ctx = known.get(row)
        if ctx is None:
            ctx = _context(row, cursor, unseal, unseal_app)
        elif ctx.subscription.cursor_seq != cursor:
            ctx = replace(ctx, subscription=replace(ctx.subscription, cursor_seq=cursor))
        found[row] = ctx
    return found


def _context(row: Row, cursor: int, unseal: Unseal, unseal_app: Unseal) -> ChannelContext:
    columns = dict(zip(_COLUMNS, row, strict=False))
    sub = subscription_of({**columns, "cursor_seq": cursor}, unseal)
    wps_company_id, dingtalk_corp_id, secret_sealed = row[len(_COLUMNS) :]
    secret = None if secret_sealed is None else unseal_app(bytes(secret_sealed), sub.app)
    return ChannelContext(sub, sub.tenant_id, wps_company_id, dingtalk_corp_id, secret)


#: Whether any delivery is retrying: nothing is held up by a refusal while none is (receivers
#: taking what they get), the usual case, which a pass so answers with a fixed text on the driver.
_ANY_RETRYING = Fixed(f"SELECT 1 FROM deliveries WHERE status = '{DeliveryStatus.RETRYING.value}' LIMIT 1")


def held_keys(conn: Connection, wanted: Mapping[str, Collection[str]]) -> dict[str, frozenset[str]]:
    """Of the entity keys ``wanted`` for each subscription (by id), those an open delivery of that
    subscription lists that a refusal holds up: one retrying, or one sharing a key with an
    earlier retrying one (a delivery merely pending, its send under way, holds up nothing for
    long). One statement for a pass's subscriptions and the entities of the records it renders,
    led by the retrying deliveries (``ix_deliveries_due``), then ``delivery_keys``' primary key
    and its index by delivery; while no delivery is retrying, only the look for one
    (:data:`_ANY_RETRYING`: the statement, built by SQLAlchemy with a list of every key, cost a
    pass's read about as much as its rendering)."""
    every = {key for keys in wanted.values() for key in keys}
    if not every or not _ANY_RETRYING.rows(conn):
        return {}
    refused_t, after_t, held_t = (delivery_keys.alias(name) for name in ("refused", "after", "held"))
    refused, after, held = refused_t.c, after_t.c, held_t.c
    q = (
        select(held.subscription_id, held.entity_key)
        .distinct()
        .select_from(deliveries)
        .join(refused_t, refused.delivery_id == deliveries.c.id)
        .join(
            after_t,
            and_(
                after.subscription_id == refused.subscription_id,
                after.entity_key == refused.entity_key,
                after.delivery_id >= refused.delivery_id,
            ),
        )
        .join(held_t, held.delivery_id == after.delivery_id)
        .where(
            deliveries.c.status == DeliveryStatus.RETRYING.value,
            deliveries.c.subscription_id.in_(list(wanted)),
            held.entity_key.in_(sorted(every)),
        )
    )
    found: dict[str, set[str]] = {}
    for sub_id, key in conn.execute(q):
        if key in wanted[sub_id]:
            found.setdefault(sub_id, set()).add(key)
    return {sub_id: frozenset(keys) for sub_id, keys in found.items()}
