"""Stream mode's WebSocket: ``GET /connect?ticket=`` (the endpoint ``connections/open`` answers).

The ticket is taken in the store (``store/stream.py``: unused, not expired on the directory's
clock; a job of the store's writers, as the connection's close is: never a write transaction on
the event loop), so it opens one connection whichever process gets the WebSocket; an unknown, used or
expired ticket refuses the upgrade (HTTP 403). A ticket whose client asked for EVENT
subscriptions makes sure the app has a Stream subscription (``subscriptions.ensure_stream``: the
platform's "Stream mode" event setting, chosen by connecting). The connection then lives in the
process's hub (``events/stream_hub.py``) until it closes: every text frame the client sends is
read as an ACK (of an EVENT or of a SYSTEM ping); a frame over :data:`MAX_FRAME` closes the
connection (1009), and so does anything that is not text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.websockets import WebSocket

from openroster.dialects.dingtalk_v1.auth import CONNECT_PATH
from openroster.events import subscriptions
from openroster.events.channels.stream import MAX_FRAME, parse_ack
from openroster.events.engine import wall_ms
from openroster.events.stream_hub import ALIVE_MS, StreamConnection, StreamHub
from openroster.store.tx import WriteTx

log = logging.getLogger(__name__)

#: WebSocket close codes: a policy refusal, a frame too big.
POLICY, TOO_BIG = 1008, 1009


async def connect(websocket: WebSocket) -> None:
    hub: StreamHub = websocket.app.state.stream
    d = hub.directory
    conn_id = hub.new_id()
    ticket = websocket.query_params.get("ticket", "")

    def take(tx: WriteTx) -> tuple[str, str, list[Any]] | None:
        alive_until = wall_ms() + ALIVE_MS
        return tx.stream.take_ticket(
            ticket, now_ms=d.now_ms(), connection_id=conn_id, worker=hub.worker, alive_until=alive_until
        )

    taken: tuple[str, str, list[Any]] | None = await d.writes.run(take)
    if taken is None:
        await websocket.close(code=POLICY)  # before the upgrade: HTTP 403
        return
    tenant, app, topics = taken
    events = any(t.get("type") == "EVENT" for t in topics)
    if events:
        await subscriptions.ensure_stream(d, tenant_id=tenant, app=app)
    await websocket.accept()
    conn = StreamConnection(conn_id, tenant, app, websocket.send_text, events=events)
    hub.add(conn)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None or len(text) > MAX_FRAME:
                await websocket.close(code=TOO_BIG if text is not None else POLICY)
                break
            ack = parse_ack(text)
            if ack is not None:
                conn.acked(*ack)
    finally:
        hub.remove(conn)
        try:
            await d.writes.run(lambda tx: tx.stream.close(conn_id, d.now_ms()))
        except Exception:  # the row lapses by itself (``ALIVE_MS``) and is pruned
            log.exception("Stream connection %s: its close could not be written", conn_id)


def mount(api: FastAPI) -> None:
    api.router.add_websocket_route(CONNECT_PATH, connect, name="dingtalk_stream_connect")
