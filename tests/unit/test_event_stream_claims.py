"""Which process claims a Stream delivery (both backends): only one holding a connection of the
delivery's app, and a backlog of deliveries waiting for such a connection holds back no other
subscription's; nor does a whole claim's worth of a subscription's attempts awaiting their ACKs.

The engines run on a real store; the WPS receiver is the one written from the protocol file
(tests/event_receivers.py), over 127.0.0.1; the Stream connection is the hub's, its WebSocket
replaced by a function that ACKs each frame as the protocol file says a client does.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import CLAIM_BATCH, EventEngine
from openroster.events.stream_hub import StreamConnection, StreamHub
from openroster.model.changes import ChangeRecord, DeliveryStatus, EntityKind, Operation, RenderedEvent

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"
APP_KEY = "dingappkey"


def _world(d: Directory) -> None:
    tenants.create(d, tenant_id="acme", name="Acme", wps_company_id="C1", dingtalk_corp_id="dingcorp1")
    apps.create(d, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")


def _person_made(d: Directory, user_id: str) -> None:
    with d.writer() as tx:
        tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, user_id))


def _engine(d: Directory, hub: StreamHub) -> EventEngine:
    """An engine of its own process (its own lease owner) pushing Stream events through ``hub``."""
    return EventEngine(d, owner=hub.worker, poll_interval=60, transports={"dingtalk_stream": hub})


def test_a_backlog_of_stream_deliveries_without_a_connection_holds_back_no_other_subscription(
    directory: Directory,
) -> None:
    _world(directory)
    stream = subscriptions.create(directory, tenant_id="acme", kind="dingtalk_stream", app=APP_KEY, url="")
    backlog = 1001  # more than ten claims' worth
    events = [
        RenderedEvent(i, uuid.uuid4().hex, "user_add_org", "create", (f"user:s{i}",), b"{}")
        for i in range(backlog)
    ]
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(stream, events, directory.now_ms())
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        _person_made(directory, "u1")
        engine = _engine(directory, StreamHub(directory, worker="w1"))  # no connection of the app
        delivered, pending = asyncio.run(engine.flush())
    assert [e["operation"] for e in server.events] == ["create"]
    assert (delivered, pending) == (1, backlog + 1)  # the person's Stream event waits with the rest
    with directory.store.read() as tx:
        waiting = tx.outbox.list_deliveries("acme", subscription_id=stream.id, limit=backlog + 1)
    assert {(d.status, d.attempts, d.last_error) for d in waiting} == {(DeliveryStatus.PENDING, 0, None)}


def test_a_stream_delivery_goes_from_the_process_that_holds_the_apps_connection(directory: Directory) -> None:
    _world(directory)
    stream = subscriptions.create(directory, tenant_id="acme", kind="dingtalk_stream", app=APP_KEY, url="")
    _person_made(directory, "u1")
    without, holder = StreamHub(directory, worker="w1"), StreamHub(directory, worker="w2")
    pushed: list[dict[str, object]] = []

    async def client(text: str) -> None:  # the client ACKs every frame with code 200
        frame = orjson.loads(text)
        pushed.append(frame)
        asyncio.get_running_loop().call_soon(conn.acked, frame["headers"]["messageId"], 200, b"")

    conn = StreamConnection("c1", "acme", APP_KEY, client)
    holder.add(conn)
    assert asyncio.run(_engine(directory, without).flush()) == (0, 1)  # claims nothing, counts nothing
    with directory.store.read() as tx:
        (d,) = tx.outbox.list_deliveries("acme", subscription_id=stream.id)
    assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.PENDING, 0, None)
    assert asyncio.run(_engine(directory, holder).flush()) == (1, 0)
    (frame,) = pushed
    headers = frame["headers"]
    assert isinstance(headers, dict) and headers["eventId"] == d.event_id
    with directory.store.read() as tx:
        (d,) = tx.outbox.list_deliveries("acme", subscription_id=stream.id)
    assert (d.status, d.attempts, d.last_status) == (DeliveryStatus.DELIVERED, 1, 200)


class HeldAcks:
    """A Stream transport whose client ACKs nothing until the test releases it."""

    def __init__(self) -> None:
        self.pushed = 0
        self.release = asyncio.Event()

    def ready(self, sub: object) -> bool:
        return True

    async def send(self, ctx: object, delivery: object) -> tuple[int | None, str | None]:
        self.pushed += 1
        await self.release.wait()
        return 200, None


def test_a_claims_worth_of_stream_acks_awaited_holds_back_no_other_subscription(directory: Directory) -> None:
    _world(directory)
    stream = subscriptions.create(directory, tenant_id="acme", kind="dingtalk_stream", app=APP_KEY, url="")
    events = [
        RenderedEvent(i, uuid.uuid4().hex, "user_add_org", "create", (f"user:s{i}",), b"{}")
        for i in range(CLAIM_BATCH + 50)
    ]
    with directory.store.write() as tx:
        tx.outbox.insert_deliveries(stream, events, directory.now_ms())
    acks = HeldAcks()
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        engine = EventEngine(directory, poll_interval=60, transports={"dingtalk_stream": acks})

        async def scenario() -> int:
            engine.start()
            try:
                _person_made(directory, "u1")
                for _ in range(150):  # while every ACK of a whole claim is awaited
                    if server.events:
                        break
                    await asyncio.sleep(0.02)
                return acks.pushed
            finally:
                acks.release.set()
                await engine.stop()
                await asyncio.to_thread(directory.writes.close)  # the outcomes' last job, if any

        pushed = asyncio.run(scenario())
    assert [e["operation"] for e in server.events] == ["create"]
    assert CLAIM_BATCH <= pushed < 2 * CLAIM_BATCH  # a claim's worth awaited, then no more of it
