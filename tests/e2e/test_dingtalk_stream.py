"""DingTalk Stream mode through a real server: ``connections/open``, the ``/connect`` WebSocket,
EVENT frames and ACKs, as the protocol file (``events.md`` §3) describes them.

The official SDK (``dingtalk-stream`` 0.24.3) runs in a child process of its own
(``openroster.testing.stream.StreamListener``: it reads ``DINGTALK_OPENAPI_ENDPOINT`` at import);
the frame shapes are checked with a raw client written from the protocol file
(``stream_support.py``, the ``websockets`` library).

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): the events a connection is sent are claimed
from the store's outbox with PostgreSQL's row locks (``FOR UPDATE SKIP LOCKED``, store/outbox.py)
while the server writes, where SQLite serializes the claims.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from dingtalk_support import ADD_PREENTRY, APPKEY, APPSECRET, CORP_ID, Wire, wire
from stream_support import (
    OPEN_PATH,
    ack,
    frames_within,
    next_frame,
    open_connection,
    raw_stream,
    ticket_url,
    world,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from wps_contacts_support import APP, TENANT, client

from conftest import LiveServer
from openroster.core.sheets import imports as sheet_imports
from openroster.testing import ControlClient, ControlError
from openroster.testing.stream import BOT_TOPIC, StreamListener

pytestmark = [pytest.mark.e2e, pytest.mark.both_stores]

#: What a refused ``connections/open`` answers (the dialect's token-call codes, docs/dingtalk-v1.md).
INVALID_CLIENT, INVALID_PARAMETER, MISSING_BODY = "invalidClientIdOrSecret", "invalidParameter", "Missingbody"


def deliveries(control: ControlClient) -> list[dict[str, Any]]:
    return control.deliveries(TENANT)


def listener(live: LiveServer, *, callbacks: tuple[str, ...] = (), **acks: int) -> StreamListener:
    return StreamListener(live.base_url, APPKEY, APPSECRET, callbacks=callbacks, **acks)


def wait_until(check: Callable[[], bool], what: str) -> None:
    StreamListener.wait_until(check, f"not within 15 s: {what}", 15.0)


# -- connections/open ---------------------------------------------------------------------------


def test_connections_open_answers_the_websocket_endpoint_and_a_ticket(live: LiveServer) -> None:
    world(live.directory)
    resp = open_connection(live.base_url)
    assert resp.status_code == 200
    reply = resp.json()
    assert set(reply) == {"endpoint", "ticket"}
    assert reply["endpoint"] == live.base_url.replace("http://", "ws://") + "/connect"  # no query
    assert str(uuid.UUID(reply["ticket"])) == reply["ticket"]
    # The journal names the app by the body's clientId, and so its tenant.
    journaled = live.control.journal(path=OPEN_PATH, tenant=TENANT)
    assert [c["app"] for c in journaled][-1:] == [APPKEY]


@pytest.mark.parametrize(
    ("body", "status", "code", "names"),
    [
        ({"clientSecret": "wrong"}, 400, INVALID_CLIENT, None),
        ({"clientId": "nobody"}, 400, INVALID_CLIENT, None),
        ({"clientId": APP, "clientSecret": f"{APP}-secret"}, 400, INVALID_CLIENT, None),  # a WPS app
        ({"clientId": None}, 400, INVALID_PARAMETER, "clientId"),
        ({"clientSecret": 7}, 400, INVALID_PARAMETER, "clientSecret"),
        ({"subscriptions": "EVENT"}, 400, INVALID_PARAMETER, "subscriptions"),
        ({"subscriptions": [{"type": "EVENT"}]}, 400, INVALID_PARAMETER, "subscriptions[0]"),
    ],
)
def test_connections_open_refuses_bad_credentials_and_fields(
    live: LiveServer, body: dict[str, Any], status: int, code: str, names: str | None
) -> None:
    world(live.directory)
    resp = open_connection(live.base_url, **body)
    assert resp.status_code == status
    reply = resp.json()
    assert reply["code"] == code and reply["message"]
    if names is not None:
        assert names in reply["message"]


def test_connections_open_without_a_json_body_is_missingbody(live: LiveServer) -> None:
    resp = httpx.post(live.base_url + "/v1.0/gateway/connections/open", content=b"")
    assert (resp.status_code, resp.json()["code"]) == (400, MISSING_BODY)


# -- tickets ------------------------------------------------------------------------------------


def test_a_ticket_opens_one_connection_and_an_unknown_or_expired_one_none(live: LiveServer) -> None:
    world(live.directory)
    url = ticket_url(live.base_url)
    with connect(url, open_timeout=10) as ws:
        ws.ping().wait(5)  # open
    for refused in (url, url.split("?")[0] + "?ticket=" + str(uuid.uuid4()), url.split("?")[0]):
        with pytest.raises(InvalidStatus) as exc, connect(refused, open_timeout=10):
            pass
        assert exc.value.response.status_code == 403
    late = ticket_url(live.base_url)
    live.control.advance_clock(91)  # a ticket lives 90 s on the server's clock
    with pytest.raises(InvalidStatus) as exc, connect(late, open_timeout=10):
        pass
    assert exc.value.response.status_code == 403


# -- the official SDK ---------------------------------------------------------------------------


@pytest.mark.slow  # the SDK's own process, and three writes waited for
def test_the_sdk_gets_the_events_of_wps_dingtalk_and_import_writes(live: LiveServer) -> None:
    # The SDK has a bot handler too (a CALLBACK subscription): accepted, never pushed.
    world(live.directory)
    with listener(live, callbacks=(BOT_TOPIC,)).running() as sdk, client(live.server) as wps:
        sdk.wait_connected(live.control, TENANT)
        (opened,) = live.control.journal(path=OPEN_PATH)
        assert opened["status"] == 200 and opened["body"]["subscriptions"] == [
            {"type": "EVENT", "topic": "*"},
            {"type": "CALLBACK", "topic": BOT_TOPIC},
        ]
        made = wps.create_user(user_name="Ann", dept_ids=["1"]).id
        (first,) = sdk.wait_for("user_add_org")
        assert first["data"] == {"timeStamp": first["data"]["timeStamp"], "userId": [made]}
        assert (first["eventCorpId"], first["eventUnifiedAppId"], first["topic"]) == (CORP_ID, APPKEY, "*")
        param = {"name": "新同事", "mobile": "13700000000", "pre_entry_time": "2030-03-01 09:00:00"}
        dt: Wire
        with wire(live.base_url) as dt:
            hired = str(dt.ok(ADD_PREENTRY, {"param": param})["userid"])
        sdk.wait_for("user_add_org", 2)
        report = sheet_imports.import_sheet(
            live.directory, tenant_id=TENANT, headers=["姓名", "工号", "部门"], rows=[["Bo", "E1", "Ops"]]
        )
        assert report.created == 1
        got = sdk.wait_for("user_add_org", 3)
        assert [e["data"]["userId"] for e in got][:2] == [[made], [hired]]
        sent = {d["event_id"]: d for d in deliveries(live.control)}
        # eventId is the delivery's id; a 200 ACK completes it, and it is not pushed again.
        assert {e["eventId"] for e in got} <= set(sent)
        wait_until(lambda: all(d["status"] == "delivered" for d in deliveries(live.control)), "delivered")
        assert live.control.flush(TENANT)["pending"] == 0
        assert len({e["messageId"] for e in sdk.events}) == len(sdk.events)
        ids = {e["eventId"] for e in got}
        assert [d["attempts"] for d in deliveries(live.control) if d["event_id"] in ids] == [1, 1, 1]
        assert sdk.callbacks == []


@pytest.mark.slow  # the SDK's own process; a missing ACK waits out the server's 10 s
@pytest.mark.parametrize(
    ("acks", "status", "error"),
    [({"refuse": 1}, 500, "ACK code 500"), ({"silent": 1}, None, "no ACK within 10 s")],
    ids=["refused", "missing"],
)
def test_a_refused_or_missing_ack_is_pushed_again_with_the_same_event_id(
    live: LiveServer, acks: dict[str, int], status: int | None, error: str
) -> None:
    world(live.directory)
    with listener(live, **acks).running() as sdk, client(live.server) as wps:
        sdk.wait_connected(live.control, TENANT)
        wps.create_user(user_name="Ann", dept_ids=["1"])
        (first,) = sdk.wait_for("user_add_org")
        assert first["ack"] in ("refuse", "silent")
        wait_until(lambda: deliveries(live.control)[0]["status"] == "retrying", "the failure recorded")
        (d,) = deliveries(live.control)
        assert (d["attempts"], d["last_status"], d["last_error"]) == (1, status, error)
        live.control.advance_clock(600)  # the back-off is on the server's clock
        live.control.flush(TENANT)
        again = sdk.wait_for("user_add_org", 2)
        assert again[1]["eventId"] == first["eventId"] and again[1]["messageId"] != first["messageId"]
        assert again[1]["ack"] == "ok"
        wait_until(lambda: deliveries(live.control)[0]["status"] == "delivered", "the 200 ACK recorded")
        live.control.advance_clock(600)
        live.control.flush(TENANT)
        assert len(sdk.events) == 2 and deliveries(live.control)[0]["attempts"] == 2


# -- the wire, with a raw client ------------------------------------------------------------------


def test_an_event_frame_as_the_protocol_file_shows_it(live: LiveServer) -> None:
    world(live.directory)
    with raw_stream(live.base_url) as ws, client(live.server) as wps:
        made = wps.create_user(user_name="Ann", dept_ids=["1"]).id
        frame = next_frame(ws)
        assert set(frame) == {"specVersion", "type", "headers", "data"} and frame["specVersion"] == "1.0"
        h = frame["headers"]
        assert all(isinstance(v, str) for v in h.values())
        assert {"topic", "messageId", "contentType", "time", "eventType", "eventId", "eventCorpId"} <= set(h)
        assert {"eventBornTime", "eventUnifiedAppId"} <= set(h)
        assert (h["topic"], h["contentType"], h["eventType"]) == ("*", "application/json", "user_add_org")
        assert (h["eventCorpId"], h["eventUnifiedAppId"]) == (CORP_ID, APPKEY)
        assert h["time"].isdigit() and h["eventBornTime"].isdigit()
        assert isinstance(frame["data"], str)
        assert orjson.loads(frame["data"]) == {"timeStamp": h["eventBornTime"], "userId": [made]}
        ack(ws, frame, data={"status": "LATER", "message": "busy"})  # the protocol's own refusal
        wait_until(lambda: deliveries(live.control)[0]["status"] == "retrying", "LATER recorded")
        assert deliveries(live.control)[0]["last_error"] == "ACK status LATER"
        live.control.advance_clock(600)  # due now: the server's background pass sends it (a flush
        again = next_frame(ws)  # would wait for the ACK this thread is to send)
        assert again["headers"]["eventId"] == h["eventId"] and again["headers"]["messageId"] != h["messageId"]
        ack(ws, again, data={"status": "SUCCESS", "message": "ok"})
        wait_until(lambda: deliveries(live.control)[0]["status"] == "delivered", "SUCCESS recorded")


def test_events_wait_in_the_outbox_while_the_app_has_no_connection(live: LiveServer) -> None:
    world(live.directory)
    made = live.control.subscribe(TENANT, "dingtalk_stream", APPKEY, None, events=["user_add_org"])
    assert {k: made[k] for k in ("kind", "app", "status", "events")} == {
        "kind": "dingtalk_stream",
        "app": APPKEY,
        "status": "active",
        "events": ["user_add_org"],
    }
    assert "url" not in made
    bots = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]
    bot_only = ticket_url(live.base_url, subscriptions=bots)
    with client(live.server) as wps, connect(bot_only, open_timeout=10) as bot:
        person = wps.create_user(user_name="Ann", dept_ids=["1"]).id
        assert live.control.flush(TENANT)["pending"] == 1  # a client of no EVENT takes none
        assert frames_within(bot, 0.5, but="SYSTEM") == []  # a keepalive ping may come, nothing else
    (waiting,) = deliveries(live.control)
    assert (waiting["status"], waiting["attempts"]) == ("pending", 0)
    # The client's close handshake may end before the server's side of the socket has left the
    # hub: the list empties once it has.
    wait_until(lambda: live.control.stream_connections(TENANT) == [], "the bot-only client gone")
    with raw_stream(live.base_url) as ws:
        frame = next_frame(ws)
        assert frame["headers"]["eventId"] == waiting["event_id"]
        assert orjson.loads(frame["data"])["userId"] == [person]
        ack(ws, frame)
        (connected,) = live.control.stream_connections(TENANT)
        assert connected["app"] == APPKEY and connected["connection_id"] and connected["worker"]
        assert isinstance(connected["since"], float)
        wait_until(lambda: deliveries(live.control)[0]["status"] == "delivered", "delivered")
    assert [s["kind"] for s in live.control.subscriptions(TENANT)] == ["dingtalk_stream"]  # no second one
    wait_until(lambda: live.control.stream_connections(TENANT) == [], "the closed connection unlisted")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "http://127.0.0.1:9/x"}, "url"),
        ({"token": "t"}, "token"),
        ({"events": ["kso.user"]}, "topics"),
        ({"app": APP}, "app"),
    ],
)
def test_a_stream_subscription_refuses_what_it_cannot_have(
    live: LiveServer, fields: dict[str, Any], field: str
) -> None:
    world(live.directory)
    body = {"kind": "dingtalk_stream", "app": APPKEY, **fields}
    with pytest.raises(ControlError) as exc:
        live.control.call("POST", f"/tenants/{TENANT}/subscriptions", json=body)
    assert exc.value.status == 400 and field in exc.value.message
    assert live.control.subscriptions(TENANT) == []


def test_a_frame_over_1_mib_closes_the_connection(live: LiveServer) -> None:
    world(live.directory)
    with raw_stream(live.base_url) as ws:
        ws.send("x" * ((1 << 20) + 1))
        with pytest.raises(ConnectionClosed) as exc:
            ws.recv(timeout=10)
    assert exc.value.rcvd is not None and exc.value.rcvd.code == 1009


def test_a_stream_subscription_goes_through_a_snapshot(live: LiveServer) -> None:
    world(live.directory)
    made = live.control.subscribe(TENANT, "dingtalk_stream", APPKEY, None)
    snapshot = orjson.loads(live.control.export_snapshot(TENANT))
    (exported,) = snapshot["tenants"][0]["subscriptions"]
    assert (exported["kind"], exported["url"]) == ("dingtalk_stream", "")
    live.control.import_snapshot(snapshot, TENANT)
    (back,) = live.control.subscriptions(TENANT)
    assert (back["id"], back["kind"], back["app"]) == (made["id"], "dingtalk_stream", APPKEY)
    exported["url"] = "http://127.0.0.1:9/x"
    with pytest.raises(ControlError) as exc:
        live.control.import_snapshot(snapshot, TENANT)
    assert exc.value.status == 400 and "subscriptions[0].url" in exc.value.message, exc.value.message
