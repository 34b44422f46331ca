"""WPS 365 event subscription: change records as ``kso.*`` events, and how a reply is judged.

Which record raises which event (docs/events.md):

| record | topic | operation |
|---|---|---|
| user create / update / delete | ``kso.user`` | the record's |
| membership, custom-attribute value (any operation) | ``kso.user`` | ``update`` |
| department create / update / delete | ``kso.dept`` | the record's |
| app scopes of the subscription's own app | ``kso.contact.permission_setting`` | ``update`` |

The payload is exactly the platform's (ids as strings; ``src`` = the state before the change on
update and delete, absent on create); one event lists up to 100 users or departments of the
transactions a pass fans out (``event_batches``: each entity's events in commit order). The
envelope is sealed once, with the app's secret and a fresh nonce that is also the event's id: a
retry or a replay sends the same bytes. Subscriptions of one app, topics and company rendering the
same records share the payloads' plaintext (:class:`Draft`), each sealing it with a nonce of its
own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from openroster.dialects.event_batches import Batch, Shared, batches, shared
from openroster.dialects.wps.event_crypto import new_nonce, seal_envelope
from openroster.model.changes import ChannelContext, EntityKind, Operation, RenderedEvent, StoredChange

USER_TOPIC = "kso.user"
DEPT_TOPIC = "kso.dept"
SCOPE_TOPIC = "kso.contact.permission_setting"
TOPICS = (USER_TOPIC, DEPT_TOPIC, SCOPE_TOPIC)

#: The ``src`` fields of a user and a department, as core's ``before`` holds them.
USER_SRC = ("dept_ids", "user_name", "role", "email", "phone", "avatar", "alias_name")
DEPT_SRC = ("leader_ids", "name", "parent_id")

_AS_USER_UPDATE = (EntityKind.MEMBERSHIP, EntityKind.ATTRIBUTE_VALUE)


def event_of(change: StoredChange, app: str) -> tuple[tuple[str, str], ...]:
    """The ``(topic, operation)`` a change raises for a subscription of ``app`` (none, or one)."""
    r = change.record
    if r.kind is EntityKind.USER:
        return ((USER_TOPIC, r.op.value),)
    if r.kind in _AS_USER_UPDATE:
        return ((USER_TOPIC, Operation.UPDATE.value),)
    if r.kind is EntityKind.DEPARTMENT:
        return ((DEPT_TOPIC, r.op.value),)
    if r.kind is EntityKind.APP_SCOPES and r.entity_id == app:
        return ((SCOPE_TOPIC, Operation.UPDATE.value),)
    return ()


def _src(before: Mapping[str, object], names: Sequence[str], id_lists: str) -> dict[str, object]:
    src: dict[str, object] = {}
    for name in names:
        if name not in before:
            continue
        value = before[name]
        if name == id_lists and isinstance(value, (list, tuple)):
            value = [str(v) for v in value]
        elif name == "parent_id" and value is not None:
            value = str(value)
        src[name] = value
    return src


def _item(company_id: str, topic: str, operation: str, change: StoredChange) -> dict[str, Any]:
    r = change.record
    id_name, names, id_lists = (
        ("user_id", USER_SRC, "dept_ids") if topic == USER_TOPIC else ("dept_id", DEPT_SRC, "leader_ids")
    )
    item: dict[str, Any] = {"company_id": company_id, id_name: r.entity_id}
    if operation != Operation.CREATE.value and r.before is not None:
        item["src"] = _src(r.before, names, id_lists)
    return item


def payload(company_id: str, batch: Batch) -> dict[str, Any]:
    """The decrypted payload of one event."""
    topic, operation = batch.key
    if topic == SCOPE_TOPIC:
        return {"company_id": company_id}
    items = [_item(company_id, topic, operation, c) for c in batch.changes]
    return {"company_id": company_id, "users" if topic == USER_TOPIC else "depts": items}


@dataclass(frozen=True, slots=True)
class Draft:
    """One event before it is sealed: the same for every subscription of one app, topics and
    company over the same records (``Shared``), its plaintext serialised once."""

    seq: int
    topic: str
    operation: str
    #: The envelope's ``time``: the commit of the first transaction it holds, unix seconds.
    time: int
    keys: tuple[str, ...]
    plaintext: bytes


def drafts(
    app: str,
    company_id: str,
    topics: Sequence[str],
    changes: Sequence[StoredChange],
    held: frozenset[str] = frozenset(),
) -> list[Draft]:
    """The unsealed events ``changes`` raise for a subscription of ``app`` to ``topics`` (``held``:
    the entities in events of their own, ``event_batches.batches``)."""
    return [
        Draft(
            b.seq,
            b.key[0],
            b.key[1],
            b.committed_at // 1000,
            b.entity_keys(),
            orjson.dumps(payload(company_id, b)),
        )
        for b in batches(changes, lambda c: event_of(c, app), topics, held=held)
    ]


class WpsChannel:
    """The WPS 365 event-subscription channel: HTTP POST of the sealed envelope, any 2xx is received."""

    kind = "wps"
    #: The receiver must answer within 3 s.
    timeout = 3.0
    topics = TOPICS

    def render(
        self,
        ctx: ChannelContext,
        changes: Sequence[StoredChange],
        memo: Shared | None = None,
        held: frozenset[str] = frozenset(),
    ) -> list[RenderedEvent]:
        sub = ctx.subscription
        if ctx.app_secret is None:
            raise ValueError(f"subscription {sub.id}: app {sub.app} has no secret to seal events with")
        secret, company_id = ctx.app_secret, ctx.wps_company_id or ctx.tenant_id
        # The payloads are the same for every subscription of the app, topics and company: made
        # once; each subscription seals them with a nonce of its own.
        unsealed = shared(
            memo,
            (self.kind, sub.app, company_id, sub.topics, held),
            lambda: drafts(sub.app, company_id, sub.topics, changes, held),
        )

        def event(d: Draft) -> RenderedEvent:
            nonce = new_nonce()  # the event's id: a receiver deduplicates on it
            envelope = seal_envelope(
                sub.app, secret, d.topic, d.operation, d.plaintext, time=d.time, nonce=nonce
            )
            return RenderedEvent(d.seq, nonce, d.topic, d.operation, d.keys, orjson.dumps(envelope))

        return [event(d) for d in unsealed]

    def request(self, ctx: ChannelContext, body: bytes) -> tuple[dict[str, str], bytes]:
        del ctx
        return {}, body

    def judge(self, ctx: ChannelContext, status: int, content: bytes) -> str | None:
        del ctx, content
        return None if 200 <= status < 300 else f"HTTP {status}"


CHANNEL = WpsChannel()
