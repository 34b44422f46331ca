"""The control plane's change-event routes through a real server, with receivers written from the
protocol notes (tests/event_receivers.py): subscribing (challenge, check_url), listing, pausing,
deleting, the deliveries listing, flush with retries on the control-plane clock, and replay.

Change records are written in this process through a write transaction on the server's store
(``live.directory``); the server's engine fans them out like its own commits.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): the engine's fan-out, claims, retries and
replay run on PostgreSQL's row locks (``FOR UPDATE SKIP LOCKED``, store/outbox.py) beside the
server's own writes, where SQLite serializes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

import event_receivers as ind
from conftest import LiveServer
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.testing import ControlError

pytestmark = [pytest.mark.e2e, pytest.mark.both_stores]

TENANT, COMPANY, CORP = "acme-events", "C-acme", "corp-acme"
WPS_APP, DING_APP = "acme-kso", "acmedingkey"
TOKEN, AES_KEY = "tok-1", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
OTHER_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def world(live: LiveServer) -> dict[str, str]:
    """A tenant with a WPS app and a DingTalk app; the WPS app's secret."""
    created = live.control.create_tenant(
        TENANT,
        wps_company_id=COMPANY,
        dingtalk_corp_id=CORP,
        apps=[
            {"client_id": WPS_APP, "scopes": ["kso.contact.read"]},
            {"client_id": DING_APP, "platform": "dingtalk", "signing": "none"},
        ],
    )
    return {a["client_id"]: a["client_secret"] for a in created["apps"]}


@pytest.fixture
def wps(world: dict[str, str]) -> Iterator[ind.ReceiverServer]:
    with ind.serve(ind.WpsReceiver(WPS_APP, world[WPS_APP])) as server:
        yield server


@pytest.fixture
def ding(world: dict[str, str]) -> Iterator[ind.ReceiverServer]:
    with ind.serve(ind.DingTalkReceiver(TOKEN, AES_KEY, DING_APP)) as server:
        yield server


def write(live: LiveServer, *records: tuple[EntityKind, Operation, str]) -> None:
    """One committed transaction with these change records."""
    with live.directory.writer() as tx:
        for kind, op, entity_id in records:
            tx.record(
                ChangeRecord(TENANT, kind, op, entity_id, ("name",), None if op is Operation.CREATE else {})
            )


def subscribe_wps(live: LiveServer, url: str, **fields: Any) -> dict[str, Any]:
    return live.control.subscribe(TENANT, "wps", WPS_APP, url, **fields)


def subscribe_ding(live: LiveServer, url: str, **fields: Any) -> dict[str, Any]:
    return live.control.subscribe(TENANT, "dingtalk", DING_APP, url, token=TOKEN, aes_key=AES_KEY, **fields)


def until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """``check()`` once it is truthy (AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(0.02)
    return found


def event_requests(server: ind.ReceiverServer) -> list[ind.Request]:
    with server.lock:
        return [r for r in server.requests if r.event is not None]


# -- subscribing -------------------------------------------------------------------------------------


def test_a_wps_subscription_passes_the_challenge_and_receives_events(
    live: LiveServer, wps: ind.ReceiverServer
) -> None:
    sub = subscribe_wps(live, wps.url, topics=["kso.user"])
    assert sub["kind"] == "wps" and sub["status"] == "active" and sub["id"].startswith("sub_")
    assert sub["app"] == WPS_APP and sub["url"] == wps.url and sub["topics"] == ["kso.user"]
    challenge = orjson.loads(wps.requests[0].body)
    assert list(challenge) == ["challenge"] and wps.requests[0].reply == challenge
    write(live, (EntityKind.USER, Operation.CREATE, "u1"), (EntityKind.DEPARTMENT, Operation.CREATE, "7"))
    live.control.flush(TENANT)
    wps.wait_for(lambda events: len(events) == 1)
    event = wps.events[0]
    assert (event["topic"], event["operation"]) == ("kso.user", "create")
    assert event["payload"] == {"company_id": COMPANY, "users": [{"company_id": COMPANY, "user_id": "u1"}]}
    [delivery] = until(lambda: live.control.deliveries(TENANT, status="delivered"))
    nonce = orjson.loads(event_requests(wps)[0].body)["nonce"]
    assert delivery["event_id"] == nonce and delivery["subscription"] == sub["id"]
    assert (delivery["topic"], delivery["operation"], delivery["attempts"]) == ("kso.user", "create", 1)
    assert delivery["last_status"] == 200 and delivery["last_error"] is None
    assert delivery["delivered"] >= delivery["created"] > 0


def test_a_dingtalk_subscription_passes_check_url_and_receives_callbacks(
    live: LiveServer, ding: ind.ReceiverServer
) -> None:
    sub = subscribe_ding(live, ding.url)
    assert (sub["kind"], sub["status"], sub["payload"], sub["events"]) == (
        "dingtalk",
        "active",
        "current",
        [],
    )
    assert "token" not in sub and "aes_key" not in sub
    assert ding.requests[0].status == 200 and ding.requests[0].event is None  # the check_url
    write(live, (EntityKind.USER, Operation.CREATE, "u1"))
    live.control.flush(TENANT)
    ding.wait_for(lambda events: len(events) == 1)
    message = ding.events[0]
    assert message["EventType"] == "user_add_org" and message["userId"] == ["u1"]
    assert message["CorpId"] == CORP and message["eventId"] == message["BizId"]
    [delivery] = until(lambda: live.control.deliveries(TENANT, status="delivered"))
    assert delivery["event_id"] == message["eventId"] and delivery["topic"] == "user_add_org"


def test_a_receiver_failing_the_challenge_is_refused_naming_its_answer(
    live: LiveServer, world: dict[str, str]
) -> None:
    wrong = ind.DingTalkReceiver(TOKEN, AES_KEY, DING_APP)  # it does not answer a challenge
    with ind.serve(wrong) as server, pytest.raises(ControlError) as err:
        subscribe_wps(live, server.url)
    assert err.value.status == 400 and err.value.field == "url"
    assert "challenge" in err.value.message and "HTTP 400" in err.value.message
    assert "a query value or encrypt is missing" in err.value.message
    assert live.control.subscriptions(TENANT) == []


def test_a_receiver_that_does_not_answer_is_refused(live: LiveServer, world: dict[str, str]) -> None:
    with ind.serve(ind.WpsReceiver(WPS_APP, world[WPS_APP])) as gone:
        url = gone.url
    with pytest.raises(ControlError) as err:
        subscribe_wps(live, url)
    assert err.value.status == 400 and "no answer" in err.value.message


def test_a_receiver_failing_check_url_is_refused_naming_its_answer(
    live: LiveServer, world: dict[str, str]
) -> None:
    other_keys = ind.DingTalkReceiver(TOKEN, OTHER_AES_KEY, DING_APP)
    with ind.serve(other_keys) as server, pytest.raises(ControlError) as err:
        subscribe_ding(live, server.url)
    assert err.value.status == 400 and err.value.field == "url"
    assert "check_url" in err.value.message and "HTTP 400" in err.value.message
    assert live.control.subscriptions(TENANT) == []


def test_the_app_must_be_the_tenants_and_of_the_subscriptions_platform(
    live: LiveServer, ding: ind.ReceiverServer
) -> None:
    with pytest.raises(ControlError) as err:
        live.control.subscribe(TENANT, "dingtalk", WPS_APP, ding.url, token=TOKEN, aes_key=AES_KEY)
    assert err.value.status == 400 and err.value.field == "app" and "wps app" in err.value.message
    with pytest.raises(ControlError) as err:
        live.control.subscribe(TENANT, "wps", "nobody", ding.url)
    assert err.value.status == 404 and err.value.field == "app"
    with pytest.raises(ControlError) as err:
        live.control.subscribe(TENANT, "dingtalk", DING_APP, ding.url, token=TOKEN, aes_key="short")
    assert err.value.status == 400 and err.value.field == "aes_key"
    with pytest.raises(ControlError) as err:
        live.control.subscribe(TENANT, "wps", WPS_APP, ding.url, token=TOKEN)
    assert err.value.status == 400 and "token" in err.value.message
    assert ding.requests == []  # refused before any call to the receiver


# -- list, pause, resume, delete -------------------------------------------------------------------------


def test_list_pause_resume_and_delete(
    live: LiveServer, wps: ind.ReceiverServer, ding: ind.ReceiverServer
) -> None:
    a, b = subscribe_wps(live, wps.url), subscribe_ding(live, ding.url, events=["user_add_org"])
    listed = live.control.subscriptions(TENANT)
    assert [s["id"] for s in listed] == sorted([a["id"], b["id"]])
    assert all("token" not in s and "aes_key" not in s for s in listed)
    paused = live.control.subscription_action(TENANT, a["id"], "pause")
    assert paused["status"] == "paused"
    assert (paused["missed"], paused["missed_until"]) == (0, None)  # nothing pruned past the retention
    write(live, (EntityKind.USER, Operation.CREATE, "u1"))
    live.control.flush(TENANT)
    ding.wait_for(lambda events: len(events) == 1)  # b is active
    assert live.control.deliveries(TENANT, subscription=a["id"]) == [] and wps.events == []
    assert live.control.subscription_action(TENANT, a["id"], "resume")["status"] == "active"
    live.control.flush(TENANT)
    wps.wait_for(lambda events: len(events) == 1)
    assert until(lambda: live.control.deliveries(TENANT, subscription=a["id"], status="delivered"))
    live.control.unsubscribe(TENANT, a["id"])
    assert [s["id"] for s in live.control.subscriptions(TENANT)] == [b["id"]]
    assert live.control.deliveries(TENANT, subscription=a["id"]) == []
    with pytest.raises(ControlError) as err:
        live.control.unsubscribe(TENANT, a["id"])
    assert err.value.status == 404 and err.value.code == "not_found"
    with pytest.raises(ControlError) as err:
        live.control.subscriptions("no-such-tenant")
    assert err.value.status == 404


# -- deliveries, flush, retries, replay --------------------------------------------------------------------


def test_deliveries_are_keyset_paged_and_filtered(live: LiveServer, wps: ind.ReceiverServer) -> None:
    sub = subscribe_wps(live, wps.url)
    for n in range(3):  # each flushed on its own: three deliveries (one pass would merge them)
        write(live, (EntityKind.USER, Operation.CREATE, f"u{n}"))
        live.control.flush(TENANT)
        wps.wait_for(lambda events, n=n: len(events) == n + 1)
    # Outcomes are written as their attempts end, beside the flush: wait for all three.
    everything = until(
        lambda: len(d := live.control.deliveries(TENANT, status="delivered", limit=10)) == 3 and d
    )
    assert [d["id"] for d in everything] == sorted(d["id"] for d in everything)
    first = live.control.deliveries(TENANT, limit=2)
    rest = live.control.deliveries(TENANT, limit=2, after=first[-1]["id"])
    assert [d["id"] for d in first + rest] == [d["id"] for d in everything]
    assert live.control.deliveries(TENANT, after=everything[-1]["id"]) == []
    assert live.control.deliveries(TENANT, status="dead") == []
    assert len(live.control.deliveries(TENANT, subscription=sub["id"])) == 3
    with pytest.raises(ControlError) as err:
        live.control.deliveries(TENANT, status="lost")
    assert err.value.status == 400 and err.value.field == "status"


def test_flush_delivers_retries_once_the_clock_has_moved(live: LiveServer, wps: ind.ReceiverServer) -> None:
    subscribe_wps(live, wps.url)
    wps.fail_next = 2
    write(live, (EntityKind.USER, Operation.CREATE, "u1"))
    live.control.flush(TENANT)
    [retrying] = until(lambda: live.control.deliveries(TENANT, status="retrying"))
    assert (
        retrying["attempts"] == 1 and retrying["last_status"] == 503 and retrying["last_error"] == "HTTP 503"
    )
    live.control.advance_clock(600)
    live.control.flush(TENANT)
    until(lambda: live.control.deliveries(TENANT, status="retrying")[0]["attempts"] == 2)
    live.control.advance_clock(600)
    flushed = live.control.flush(TENANT)
    assert set(flushed) == {"delivered", "pending"}
    wps.wait_for(lambda events: len(events) == 1)
    [done] = until(lambda: live.control.deliveries(TENANT, status="delivered"))
    assert done["attempts"] == 3 and done["id"] == retrying["id"]
    bodies = {r.body for r in event_requests(wps) if r.event is not None}
    assert len(bodies) == 1  # every attempt sent the same envelope, byte for byte
    assert until(lambda: live.control.flush(TENANT)["pending"] == 0)


def test_replay_re_sends_wps_envelopes_byte_for_byte(live: LiveServer, wps: ind.ReceiverServer) -> None:
    sub = subscribe_wps(live, wps.url)
    write(live, (EntityKind.USER, Operation.CREATE, "u1"))
    write(live, (EntityKind.DEPARTMENT, Operation.CREATE, "7"))
    live.control.flush(TENANT)
    wps.wait_for(lambda events: len(events) == 2)
    until(lambda: len(live.control.deliveries(TENANT, status="delivered")) == 2)
    replayed = live.control.replay(TENANT, sub["id"], since=0)
    assert replayed == {"subscription": sub["id"], "replayed": 2}
    live.control.flush(TENANT)
    wps.wait_for(lambda events: len(events) == 4)
    sent = [r.body for r in event_requests(wps)]  # other entities' events may arrive in any order
    assert sorted(sent[2:]) == sorted(sent[:2])
    until(lambda: len(live.control.deliveries(TENANT, status="delivered")) == 4)
    ids = [d["event_id"] for d in live.control.deliveries(TENANT)]
    assert ids[2:] == ids[:2]  # queued again in their order
    assert live.control.replay(TENANT, sub["id"], since=time.time() + 3600)["replayed"] == 0


def test_replay_re_sends_dingtalk_events_with_their_event_ids(
    live: LiveServer, ding: ind.ReceiverServer
) -> None:
    sub = subscribe_ding(live, ding.url)
    write(live, (EntityKind.USER, Operation.UPDATE, "u1"))
    live.control.flush(TENANT)
    ding.wait_for(lambda events: len(events) == 1)
    until(lambda: live.control.deliveries(TENANT, status="delivered"))
    assert live.control.replay(TENANT, sub["id"], since=0)["replayed"] == 1
    live.control.flush(TENANT)
    ding.wait_for(lambda events: len(events) == 2)
    first, again = ding.events
    assert first["EventType"] == again["EventType"] == "user_modify_org"
    assert (again["eventId"], again["BizId"]) == (first["eventId"], first["BizId"])


# -- auth and the OpenAPI document -------------------------------------------------------------------------

EVENT_ROUTES = [
    ("post", "/tenants/{tenant_id}/subscriptions"),
    ("get", "/tenants/{tenant_id}/subscriptions"),
    ("delete", "/tenants/{tenant_id}/subscriptions/{sub_id}"),
    ("post", "/tenants/{tenant_id}/subscriptions/{sub_id}/pause"),
    ("post", "/tenants/{tenant_id}/subscriptions/{sub_id}/resume"),
    ("post", "/tenants/{tenant_id}/subscriptions/{sub_id}/replay"),
    ("get", "/tenants/{tenant_id}/deliveries"),
    ("post", "/tenants/{tenant_id}/deliveries/flush"),
    ("get", "/tenants/{tenant_id}/changes"),
]


@pytest.mark.parametrize(("method", "path"), EVENT_ROUTES)
def test_event_routes_need_the_admin_token_and_are_documented(
    live: LiveServer, method: str, path: str
) -> None:
    base = live.base_url + "/_openroster"
    concrete = path.replace("{tenant_id}", TENANT).replace("{sub_id}", "sub_x")
    refused = httpx.request(method.upper(), base + concrete, json={})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    document = httpx.get(base + "/openapi.json").json()
    assert method in document["paths"][path]
    assert "401" in document["paths"][path][method]["responses"]


def test_the_change_feed_pages_with_its_cursor(live: LiveServer, wps: ind.ReceiverServer) -> None:
    # a paused subscription keeps the records from being pruned while the test reads them
    live.control.subscription_action(TENANT, subscribe_wps(live, wps.url)["id"], "pause")
    start = live.control.changes(TENANT)
    assert start["changes"] == []
    write(live, (EntityKind.USER, Operation.CREATE, "u1"), (EntityKind.MEMBERSHIP, Operation.UPDATE, "u1"))
    page = live.control.changes(TENANT, start["cursor"])
    assert [(c["kind"], c["operation"], c["entity_id"]) for c in page["changes"]] == [
        ("user", "create", "u1"),
        ("membership", "update", "u1"),
    ]
    assert page["cursor"] == page["changes"][-1]["seq"] > start["cursor"]
    assert live.control.changes(TENANT, page["cursor"]) == {"changes": [], "cursor": page["cursor"]}


# -- snapshots ------------------------------------------------------------------------------------------


def test_snapshots_hold_subscriptions_without_their_secrets_unless_asked(
    live: LiveServer, ding: ind.ReceiverServer
) -> None:
    sub = subscribe_ding(live, ding.url, events=["user_add_org"])
    plain = orjson.loads(live.control.export_snapshot(TENANT))
    [row] = plain["tenants"][0]["subscriptions"]
    assert (row["id"], row["kind"], row["app"], row["topics"]) == (
        sub["id"],
        "dingtalk",
        DING_APP,
        ["user_add_org"],
    )
    assert (
        "token" not in row
        and "aes_key" not in row
        and AES_KEY.encode() not in live.control.export_snapshot(TENANT)
    )
    full = orjson.loads(live.control.export_snapshot(TENANT, secrets=True))
    assert (
        full["tenants"][0]["subscriptions"][0] | {"token": TOKEN, "aes_key": AES_KEY}
        == full["tenants"][0]["subscriptions"][0]
    )
    live.control.import_snapshot(plain, TENANT)  # the same subscription keeps the keys it holds
    assert [s["id"] for s in live.control.subscriptions(TENANT)] == [sub["id"]]
    live.control.delete_tenant(TENANT)
    with pytest.raises(ControlError) as err:
        live.control.import_snapshot(plain, TENANT)
    assert err.value.status == 400 and err.value.field == "tenants[0].subscriptions[0].token"
    live.control.import_snapshot(full, TENANT)
    write(live, (EntityKind.USER, Operation.CREATE, "u1"))
    live.control.flush(TENANT)
    ding.wait_for(lambda events: len(events) == 1)  # the restored keys seal what the receiver opens
    assert live.control.export_snapshot(TENANT) == live.control.export_snapshot(TENANT)
    assert orjson.loads(live.control.export_snapshot(TENANT))["tenants"][0]["subscriptions"] == [row]


def test_a_reset_keeps_the_subscriptions(live: LiveServer, ding: ind.ReceiverServer) -> None:
    sub = subscribe_ding(live, ding.url)
    paused = live.control.subscription_action(TENANT, sub["id"], "pause")
    live.control.reset_tenant(TENANT)
    (kept,) = live.control.subscriptions(TENANT)
    assert {**kept, "cursor": 0} == {**paused, "cursor": 0}
    assert kept["cursor"] >= paused["cursor"]  # recreated at the change seq of the reset
    live.control.subscription_action(TENANT, sub["id"], "resume")
    write(live, (EntityKind.USER, Operation.CREATE, "u1"))
    live.control.flush(TENANT)
    ding.wait_for(lambda events: [e["EventType"] for e in events] == ["user_add_org"])


def test_a_whole_store_import_that_drops_a_tenant_leaves_no_subscription_behind(
    live: LiveServer, wps: ind.ReceiverServer
) -> None:
    kept = subscribe_wps(live, wps.url)
    snapshot = live.control.export_snapshot(secrets=True)  # the whole store: this tenant only
    made = live.control.create_tenant(
        "doomed", apps=[{"client_id": "doomed-kso", "scopes": ["kso.contact.read"]}]
    )
    with ind.serve(ind.WpsReceiver("doomed-kso", made["apps"][0]["client_secret"])) as doomed_rx:
        live.control.subscribe("doomed", "wps", "doomed-kso", doomed_rx.url)
        doomed_rx.fail_next = 1000  # its deliveries stay open, retrying
        with live.directory.writer() as tx:
            tx.record(ChangeRecord("doomed", EntityKind.USER, Operation.CREATE, "u1"))
        until(lambda: live.control.deliveries("doomed", status="retrying"))
        reply = live.control.import_snapshot(snapshot)
        assert reply["deleted"] == ["doomed"]
        with live.directory.store.read() as tx:
            left = tx.outbox.list_subscriptions(
                None, lambda s, c: live.directory.master_key.unseal(s, context=c)
            )
            assert [s.id for s in left] == [kept["id"]]
            assert tx.outbox.list_deliveries("doomed") == [] and tx.outbox.count_open() == 0
        with pytest.raises(ControlError) as gone:
            live.control.subscriptions("doomed")
        assert gone.value.status == 404
        tried = len(doomed_rx.requests)
        live.control.advance_clock(600)  # the dropped tenant's retries would be due now
        assert live.control.flush(TENANT) == {"delivered": 0, "pending": 0}
        assert len(doomed_rx.requests) == tried
    write(live, (EntityKind.USER, Operation.CREATE, "u2"))  # the kept tenant's subscription still delivers
    live.control.flush(TENANT)
    wps.wait_for(lambda events: [e["payload"]["users"][0]["user_id"] for e in events] == ["u2"])
