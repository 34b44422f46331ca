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

import orjson
from sqlalchemy import Connection

from openroster.model.changes import ChannelContext, DeliveryStatus, SubscriptionStatus
from openroster.store.outbox import Unseal, subscription_of
from openroster.store.schema import subscriptions
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


#: The held-up chain, from the retrying deliveries of the wanted subscriptions (``{subs}``: their
#: ids, one bound list): every key of each, then every key of each later open delivery of the same
#: subscription sharing a key with one collected, and so on (``delivery_keys`` holds the open
#: deliveries' keys; ``UNION`` keeps each row once, so the walk ends). Each collected key steps to
#: the *next* open delivery of that key only (the one after it follows from there): stepping to
#: every later one made N deliveries of one entity held up behind a refusal N²/2 rows of work.
#: With no retrying delivery in those subscriptions, the usual case, the first part finds nothing
#: and that is all it costs.
_CHAIN = """
WITH RECURSIVE chain(subscription_id, entity_key, delivery_id) AS (
    SELECT k.subscription_id, k.entity_key, k.delivery_id
    FROM deliveries AS d
    JOIN delivery_keys AS k ON k.delivery_id = d.id
    WHERE d.status = '{retrying}' AND d.subscription_id {subs}
    UNION
    SELECT held.subscription_id, held.entity_key, held.delivery_id
    FROM chain AS c
    JOIN delivery_keys AS after ON after.subscription_id = c.subscription_id
        AND after.entity_key = c.entity_key
        AND after.delivery_id = (
            SELECT min(n.delivery_id) FROM delivery_keys AS n
            WHERE n.subscription_id = c.subscription_id AND n.entity_key = c.entity_key
                AND n.delivery_id > c.delivery_id
        )
    JOIN delivery_keys AS held ON held.delivery_id = after.delivery_id
)
SELECT DISTINCT subscription_id, entity_key FROM chain
"""
_HELD = {
    "sqlite": Fixed(
        _CHAIN.format(retrying=DeliveryStatus.RETRYING.value, subs="IN (SELECT value FROM json_each(:subs))")
    ),
    "postgresql": Fixed(
        _CHAIN.format(retrying=DeliveryStatus.RETRYING.value, subs="= ANY(CAST(:subs AS varchar[]))")
    ),
}


def held_keys(conn: Connection, wanted: Mapping[str, Collection[str]]) -> dict[str, frozenset[str]]:
    """Of the entity keys ``wanted`` for each subscription (by id), those a refusal holds up: listed
    by a retrying delivery of that subscription, or by a later open one sharing a key with it, or
    with such a one, and so on down the chain (a delivery merely pending, its send under way, holds
    up nothing for long). One fixed statement (:data:`_HELD`) for a pass's subscriptions, led by
    their retrying deliveries: while none of them has one, it finds nothing at once, whatever
    retries in other subscriptions; while one does, it walks that subscription's open deliveries
    linked to the refusal (``delivery_keys``' primary key and its index by delivery)."""
    subs = [sub_id for sub_id, keys in wanted.items() if keys]
    if not subs:
        return {}
    param: object = subs if conn.dialect.name == "postgresql" else orjson.dumps(subs).decode()
    found: dict[str, set[str]] = {}
    for sub_id, key in _HELD[conn.dialect.name].rows(conn, {"subs": param}):
        if key in wanted[sub_id]:
            found.setdefault(sub_id, set()).add(key)
    return {sub_id: frozenset(keys) for sub_id, keys in found.items()}
