"""DingTalk HTTP push: change records as callbacks, and how a reply is judged.

Which record raises which event (docs/events.md; the protocol notes' mapping):

| record | ``EventType`` |
|---|---|
| user create / update / delete | ``user_add_org`` / ``user_modify_org`` / ``user_leave_org`` |
| user update: to ``dimission`` / ``notactive`` to ``active`` | ``user_leave_org`` / ``user_active_org`` |
| user update of the role, to or from an admin one | ``org_admin_add`` / ``org_admin_remove`` |
| membership (any operation) | ``user_modify_org`` |
| department create / update / delete | ``org_dept_create`` / ``org_dept_modify`` / ``org_dept_remove`` |
| roster record, custom-attribute value | ``hrm_user_record_change`` (``current`` only; one per person) |

``current`` bodies: ``EventType``, ``EventTime`` (ms), ``CorpId``, ``BizId`` and ``eventId`` (both
the event's id), then ``timeStamp`` + ``userId`` / ``deptId`` / ``actionType`` + ``staffId``.
``legacy`` bodies: ``EventType``, ``TimeStamp``, ``CorpId``, ``UserId`` / ``DeptId``. The request
(query and encrypted body) is sealed once, with the subscription's token and aes_key and the
owner key of its style (appKey for ``current``, corpId for ``legacy``): a retry or a replay sends
the same request. Only a 200 whose body is a valid encrypted ``success`` counts as received.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from openroster.dialects.dingtalk.callback_crypto import (
    CallbackKeys,
    PayloadStyle,
    check_success_reply,
    owner_key,
    seal_callback,
)
from openroster.dialects.event_batches import Batch, Shared, batches, shared
from openroster.dialects.event_wire import EventError
from openroster.model.changes import ChannelContext, EntityKind, Operation, RenderedEvent, StoredChange

USER_EVENTS = {
    Operation.CREATE: "user_add_org",
    Operation.UPDATE: "user_modify_org",
    Operation.DELETE: "user_leave_org",
}
DEPT_EVENTS = {
    Operation.CREATE: "org_dept_create",
    Operation.UPDATE: "org_dept_modify",
    Operation.DELETE: "org_dept_remove",
}
RECORD_CHANGE = "hrm_user_record_change"
ACTIVE = "user_active_org"
ADMIN_ADD, ADMIN_REMOVE = "org_admin_add", "org_admin_remove"
EVENT_TYPES = (*USER_EVENTS.values(), ACTIVE, ADMIN_ADD, ADMIN_REMOVE, *DEPT_EVENTS.values(), RECORD_CHANGE)
#: The operation each event stands for (the deliveries listing shows it beside the EventType).
OPERATIONS = {
    **{name: op.value for op, name in (*USER_EVENTS.items(), *DEPT_EVENTS.items())},
    **{name: Operation.UPDATE.value for name in (ACTIVE, ADMIN_ADD, ADMIN_REMOVE, RECORD_CHANGE)},
}
#: The roles DingTalk counts as an organisation's admins.
ADMIN_ROLES = frozenset({"admin", "super-admin"})


def user_update_events(
    before: Mapping[str, object], after: Mapping[str, object], fields: Sequence[str]
) -> list[str]:
    """The events a user update raises: a dismissal leaves (``user_leave_org``), an account going
    from ``notactive`` to ``active`` is activated (``user_active_org``), a role becoming or ceasing
    to be an admin one adds or removes an admin; any other changed field (another status change
    included) is ``user_modify_org``. A record without ``after`` (one made before it was kept)
    is ``user_modify_org``."""
    out: list[str] = []
    rest = [f for f in fields if f not in after]
    status = after.get("status")
    if status == "dimission":
        out.append(USER_EVENTS[Operation.DELETE])
    elif status == "active" and before.get("status") == "notactive":
        out.append(ACTIVE)
    elif "status" in after:
        rest.append("status")
    if "role" in after and (after["role"] in ADMIN_ROLES) != (before.get("role") in ADMIN_ROLES):
        out.append(ADMIN_ADD if after["role"] in ADMIN_ROLES else ADMIN_REMOVE)
    return [USER_EVENTS[Operation.UPDATE]] * bool(rest) + out


def event_of(change: StoredChange, style: str) -> list[tuple[str, str]]:
    """``(EventType, batch key)`` of each event a change raises in ``style``. Roster changes are
    one event per person (their key is the user id); the others batch by type."""
    r = change.record
    if r.kind is EntityKind.USER and r.op is Operation.UPDATE:
        return [(t, "") for t in user_update_events(r.before or {}, r.after or {}, r.fields)]
    if r.kind is EntityKind.USER:
        return [(USER_EVENTS[r.op], "")]
    if r.kind is EntityKind.MEMBERSHIP:
        return [(USER_EVENTS[Operation.UPDATE], "")]
    if r.kind is EntityKind.DEPARTMENT:
        return [(DEPT_EVENTS[r.op], "")]
    if r.kind in (EntityKind.ROSTER_RECORD, EntityKind.ATTRIBUTE_VALUE) and style == "current":
        return [(RECORD_CHANGE, r.entity_id)]
    return []


def keys_of(ctx: ChannelContext) -> CallbackKeys:
    """The subscription's callback keys, with the owner key of its payload style."""
    sub = ctx.subscription
    if sub.token is None or sub.aes_key is None:
        raise ValueError(f"subscription {sub.id} has no token or aes_key")
    style: PayloadStyle = "legacy" if sub.payload == "legacy" else "current"
    owner = owner_key(style, app_key=sub.app, corp_id=ctx.dingtalk_corp_id or ctx.tenant_id)
    return CallbackKeys(sub.token, sub.aes_key, owner)


def message(corp_id: str, style: str, event_type: str, batch: Batch, event_id: str) -> dict[str, Any]:
    """The decrypted message of one event."""
    ms = batch.committed_at
    ids = [c.record.entity_id for c in batch.changes]
    is_dept = event_type in DEPT_EVENTS.values()
    if style == "legacy":
        field = {"DeptId": [int(i) for i in ids]} if is_dept else {"UserId": ids}
        return {"EventType": event_type, "TimeStamp": str(ms), "CorpId": corp_id, **field}
    head = {
        "EventType": event_type,
        "EventTime": ms,
        "CorpId": corp_id,
        "BizId": event_id,
        "eventId": event_id,
    }
    if event_type == RECORD_CHANGE:
        return {**head, "actionType": "userInfoChange", "staffId": ids[0]}
    if is_dept:
        return {**head, "deptId": [int(i) for i in ids]}
    return {**head, "timeStamp": str(ms), "userId": ids}


class DingTalkChannel:
    """DingTalk's HTTP push: POST ``?signature&timestamp&nonce`` with ``{"encrypt"}``."""

    kind = "dingtalk"
    #: What receivers are told: answer within 1.5 s.
    timeout = 1.5
    topics = EVENT_TYPES

    def render(
        self,
        ctx: ChannelContext,
        changes: Sequence[StoredChange],
        memo: Shared | None = None,
        held: frozenset[str] = frozenset(),
    ) -> list[RenderedEvent]:
        sub = ctx.subscription
        keys = keys_of(ctx)
        corp_id = ctx.dingtalk_corp_id or ctx.tenant_id

        def event(batch: Batch) -> RenderedEvent:
            event_id = uuid.uuid4().hex  # eventId and BizId: the same on every attempt and replay
            sealed = seal_callback(keys, message(corp_id, sub.payload, batch.topic, batch, event_id))
            body = orjson.dumps({"query": sealed.query, "body": sealed.body})
            return RenderedEvent(
                batch.seq, event_id, batch.topic, OPERATIONS[batch.topic], batch.entity_keys(), body
            )

        # The batches are the same for every subscription of the style and topics; each message
        # has the subscription's own event id and keys.
        grouped = shared(
            memo,
            (self.kind, sub.payload, sub.topics, held),
            lambda: batches(changes, lambda c: event_of(c, sub.payload), sub.topics, held=held),
        )
        return [event(b) for b in grouped]

    def request(self, ctx: ChannelContext, body: bytes) -> tuple[dict[str, str], bytes]:
        del ctx
        stored = orjson.loads(body)
        return dict(stored["query"]), orjson.dumps(stored["body"])

    def judge(self, ctx: ChannelContext, status: int, content: bytes) -> str | None:
        if status != 200:
            return f"HTTP {status}"
        try:
            check_success_reply(keys_of(ctx), orjson.loads(content))
        except (EventError, orjson.JSONDecodeError) as exc:
            return f"the reply is not an encrypted success: {exc}"
        return None


CHANNEL = DingTalkChannel()
