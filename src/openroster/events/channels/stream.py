"""DingTalk Stream mode: the wire of its frames, and the channel that renders events into them.

The subscriber opens the connection (``POST /v1.0/gateway/connections/open``, then a WebSocket to
``/connect?ticket=``); the server pushes JSON text frames ``{specVersion, type, headers, data}``
where every header is a string and ``data`` a JSON **string**, and the client answers each with an
ACK ``{code, headers: {messageId}, message, data}``. An EVENT frame carries the event type, the
delivery's stable ``eventId``, the corp, the appKey and the event's fields as DingTalk's HTTP
channel renders them (``dialects/dingtalk/events.py``) without the envelope's head: ``data`` is
e.g. ``{"timeStamp":"1685501863357","userId":["u1001"]}``.

Rendered once at fan-out, the stored body holds what stays the same on every push (the EVENT
headers and ``data``); :meth:`StreamChannel.request` makes the frame with a fresh ``messageId`` and
``time``. An ACK with code 200 (and no ``status: LATER`` in its data) is consumed; any other code,
``LATER``, or no ACK within :data:`ACK_TIMEOUT` is a failure, pushed again on the channel back-off
with the same ``eventId``. The connections themselves are the hub's (``events/stream_hub.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from openroster.dialects.dingtalk.events import EVENT_TYPES, OPERATIONS, event_of, message
from openroster.dialects.event_batches import Batch, Shared, batches, shared
from openroster.model.changes import STREAM_KIND, ChannelContext, RenderedEvent, StoredChange

#: The subscription kind of Stream mode.
KIND = STREAM_KIND
#: Seconds a client has to ACK an EVENT frame before it counts as a failure.
ACK_TIMEOUT = 10.0
#: The largest frame either side sends (the platform's 1 MiB).
MAX_FRAME = 1 << 20
SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
#: The EVENT topic (the platform's only one: every event type).
EVENT_TOPIC = "*"
PING, DISCONNECT = "ping", "disconnect"
#: The head of the HTTP channel's ``current`` message, which Stream sends as headers instead.
_HEAD = frozenset({"EventType", "EventTime", "CorpId", "BizId", "eventId"})


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_message_id() -> str:
    return uuid.uuid4().hex


def frame(kind: str, headers: Mapping[str, str], data: Mapping[str, Any]) -> bytes:
    """One server frame: ``headers`` (strings) with ``contentType`` and ``time`` added, ``data``
    as a JSON string."""
    full = {"contentType": CONTENT_TYPE, "time": str(now_ms()), **headers}
    data_text = orjson.dumps(data).decode()
    return orjson.dumps({"specVersion": SPEC_VERSION, "type": kind, "headers": full, "data": data_text})


def system_frame(topic: str, data: Mapping[str, Any], message_id: str) -> bytes:
    """A SYSTEM frame: ``ping`` ``{opaque}`` or ``disconnect`` ``{reason}``."""
    return frame("SYSTEM", {"topic": topic, "messageId": message_id}, data)


def event_fields(corp_id: str, event_type: str, batch: Batch) -> dict[str, Any]:
    """The EVENT frame's ``data``: the HTTP channel's ``current`` message without its head (the
    event's id is in the head only: the data is the same for every subscription)."""
    whole = message(corp_id, "current", event_type, batch, "")
    return {k: v for k, v in whole.items() if k not in _HEAD}


def parse_ack(text: str | bytes) -> tuple[str, int, bytes] | None:
    """``(messageId, code, data)`` of a client's ACK, or None for a message that is not one."""
    try:
        ack = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(ack, dict) or not isinstance(ack.get("headers"), dict):
        return None
    message_id, code = ack["headers"].get("messageId"), ack.get("code")
    if not isinstance(message_id, str) or isinstance(code, bool) or not isinstance(code, int):
        return None
    data = ack.get("data")
    if data is None:
        return message_id, code, b""
    return message_id, code, data.encode() if isinstance(data, str) else orjson.dumps(data)


class StreamChannel:
    """DingTalk Stream mode: EVENT frames over connections the subscriber opened."""

    kind = KIND
    timeout = ACK_TIMEOUT
    topics = EVENT_TYPES

    def render(
        self,
        ctx: ChannelContext,
        changes: Sequence[StoredChange],
        memo: Shared | None = None,
        held: frozenset[str] = frozenset(),
    ) -> list[RenderedEvent]:
        sub = ctx.subscription
        corp_id = ctx.dingtalk_corp_id or ctx.tenant_id

        def draft() -> list[tuple[Batch, dict[str, Any]]]:
            grouped = batches(changes, lambda c: event_of(c, "current"), sub.topics, held=held)
            return [(b, event_fields(corp_id, b.topic, b)) for b in grouped]

        def event(batch: Batch, data: dict[str, Any]) -> RenderedEvent:
            event_id = uuid.uuid4().hex  # the same on every push and replay
            stored = {
                "eventType": batch.topic,
                "eventId": event_id,
                "eventCorpId": corp_id,
                "eventUnifiedAppId": sub.app,
                "eventBornTime": str(batch.committed_at),
                "data": data,
            }
            return RenderedEvent(
                batch.seq, event_id, batch.topic, OPERATIONS[batch.topic], batch.entity_keys(),
                orjson.dumps(stored),
            )  # fmt: skip

        # The batches and their data are the same for every subscription of the corp and topics
        # (the data holds no event id); each event has an id of its own.
        return [event(b, data) for b, data in shared(memo, (self.kind, corp_id, sub.topics, held), draft)]

    def request(self, ctx: ChannelContext, body: bytes) -> tuple[dict[str, str], bytes]:
        """``({"messageId": <fresh>}, the EVENT frame)``: a new message id and time per push."""
        del ctx
        stored = orjson.loads(body)
        message_id = new_message_id()
        headers = {k: v for k, v in stored.items() if k != "data"}
        return {"messageId": message_id}, frame(
            "EVENT", {"topic": EVENT_TOPIC, "messageId": message_id, **headers}, stored["data"]
        )

    def judge(self, ctx: ChannelContext, status: int, content: bytes) -> str | None:
        """``status`` is the ACK's code, ``content`` its data."""
        del ctx
        if status != 200:
            return f"ACK code {status}"
        try:
            data = orjson.loads(content) if content else {}
        except orjson.JSONDecodeError:
            return None  # the SDK echoes the event's data; only a LATER status refuses
        if isinstance(data, dict) and data.get("status") == "LATER":
            return "ACK status LATER"
        return None


CHANNEL = StreamChannel()
