"""DingTalk HTTP push: change records as callbacks, and how a reply is judged.

Which record raises which event (docs/events.md; the protocol notes' mapping):

| record | ``EventType`` |
|---|---|
| user create / update / delete | ``user_add_org`` / ``user_modify_org`` / ``user_leave_org`` |
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
from collections.abc import Sequence
from typing import Any

import orjson

from openroster.dialects.dingtalk.callback_crypto import (
    CallbackKeys,
    PayloadStyle,
    check_success_reply,
    owner_key,
    seal_callback,
)
from openroster.dialects.event_batches import Batch, batches
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
EVENT_TYPES = (*USER_EVENTS.values(), *DEPT_EVENTS.values(), RECORD_CHANGE)
#: The operation each event stands for (the deliveries listing shows it beside the EventType).
OPERATIONS = {
    **{name: op.value for op, name in (*USER_EVENTS.items(), *DEPT_EVENTS.items())},
    RECORD_CHANGE: Operation.UPDATE.value,
}


def event_of(change: StoredChange, style: str) -> tuple[str, str] | None:
    """``(EventType, batch key)`` a change raises in ``style`` (None: no event). Roster changes are
    one event per person (their key is the user id); the others batch by type."""
    r = change.record
    if r.kind is EntityKind.USER:
        return USER_EVENTS[r.op], ""
    if r.kind is EntityKind.MEMBERSHIP:
        return USER_EVENTS[Operation.UPDATE], ""
    if r.kind is EntityKind.DEPARTMENT:
        return DEPT_EVENTS[r.op], ""
    if r.kind in (EntityKind.ROSTER_RECORD, EntityKind.ATTRIBUTE_VALUE) and style == "current":
        return RECORD_CHANGE, r.entity_id
    return None


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

    def render(self, ctx: ChannelContext, changes: Sequence[StoredChange]) -> list[RenderedEvent]:
        sub = ctx.subscription
        keys = keys_of(ctx)
        corp_id = ctx.dingtalk_corp_id or ctx.tenant_id

        def event(batch: Batch) -> RenderedEvent:
            event_id = uuid.uuid4().hex  # eventId and BizId: the same on every attempt and replay
            sealed = seal_callback(keys, message(corp_id, sub.payload, batch.topic, batch, event_id))
            body = orjson.dumps({"query": sealed.query, "body": sealed.body})
            keys_of_entities = batch.entity_keys("dept" if batch.topic in DEPT_EVENTS.values() else "user")
            return RenderedEvent(
                batch.seq, event_id, batch.topic, OPERATIONS[batch.topic], keys_of_entities, body
            )

        return [event(b) for b in batches(changes, lambda c: event_of(c, sub.payload), sub.topics)]

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
