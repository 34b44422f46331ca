"""Subscriptions rendering the same change records in one pass share their batches and payloads
(``dialects/event_batches.Shared``) and seal them each with its own keys, nonce or event id: on a
real store (both backends), with receivers written from the protocol file
(tests/event_receivers.py) over 127.0.0.1, which check every signature and decrypt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.core.runtime.clock import FixedClock
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, DeliveryStatus, EntityKind, Operation

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"
OTHER_ID, OTHER_SECRET = "acme-other", "acme-other-secret"
TOKEN, AES_KEY = "tok-1", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
TOKEN_2, AES_KEY_2 = "tok-2", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_KEY, CORP_ID = "dingappkey", "dingcorp1"
T0 = 1_800_000_000.0
BEFORE = {"user_name": "Old", "dept_ids": [1], "email": "o@acme.test"}


@pytest.fixture
def d(directory: Directory) -> Directory:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1", dingtalk_corp_id=CORP_ID)
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    apps.create(directory, tenant_id="acme", client_id=OTHER_ID, secret=OTHER_SECRET, signing="kso1")
    return directory.at_clock(FixedClock(T0))


def write(d: Directory, *records: ChangeRecord) -> None:
    with d.writer() as tx:
        for r in records:
            tx.record(r)


def user(op: Operation, entity_id: str, before: dict[str, object] | None = None) -> ChangeRecord:
    return ChangeRecord("acme", EntityKind.USER, op, entity_id, ("user_name",), before)


def flush(engine: EventEngine) -> tuple[int, int]:
    return asyncio.run(engine.flush())


def envelope(body: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(body)
    return doc


def plaintext(secret: str, body: bytes) -> bytes:
    doc = envelope(body)
    return ind.wps_decrypt(secret, doc["nonce"], doc["encrypted_data"])


@pytest.fixture
def five(d: Directory) -> Iterator[list[ind.ReceiverServer]]:
    """Five subscriptions of one WPS app, each to a receiver of its own."""
    with ExitStack() as stack:
        servers = [stack.enter_context(ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET))) for _ in range(5)]
        for s in servers:
            subscriptions.create(d, tenant_id="acme", kind="wps", app=APP_ID, url=s.url)
        yield servers


def test_five_subscriptions_of_one_app_get_one_payload_each_sealed_with_its_own_nonce(
    d: Directory, five: list[ind.ReceiverServer]
) -> None:
    write(d, user(Operation.UPDATE, "u1", BEFORE), user(Operation.UPDATE, "u2", BEFORE))
    write(d, user(Operation.CREATE, "u3"))
    engine = EventEngine(d)
    assert flush(engine) == (10, 0)
    # (two entities' events go at once: each receiver's in its own arrival order)
    events = [sorted(s.events, key=lambda e: str(e["operation"]), reverse=True) for s in five]
    # Every receiver checked the signature with the app's secret and decrypted the same events.
    assert all(e == events[0] for e in events)
    assert [(e["operation"], [u["user_id"] for u in e["payload"]["users"]]) for e in events[0]] == [
        ("update", ["u1", "u2"]),
        ("create", ["u3"]),
    ]
    bodies = [sorted((r.body for r in s.requests), key=lambda b: str(envelope(b)["operation"])) for s in five]
    # One plaintext per event for all five, byte for byte; a nonce of its own per subscription.
    for n in range(2):
        assert len({plaintext(APP_SECRET, b[n]) for b in bodies}) == 1
        assert len({envelope(b[n])["nonce"] for b in bodies}) == 5
    # Each body is the envelope the protocol makes of that plaintext with the event's nonce.
    for b in (b for server in bodies for b in server):
        doc = envelope(b)
        rebuilt = ind.wps_envelope(
            APP_ID,
            APP_SECRET,
            doc["topic"],
            doc["operation"],
            plaintext(APP_SECRET, b),
            doc["time"],
            doc["nonce"],
        )
        assert b == json.dumps(rebuilt, separators=(",", ":")).encode()
    with d.store.read() as tx:
        stored = {x.event_id: x.body for x in tx.outbox.list_deliveries("acme")}
    assert {envelope(b)["nonce"]: b for server in bodies for b in server} == stored


def test_a_retry_of_one_of_five_resends_the_stored_bytes(
    d: Directory, five: list[ind.ReceiverServer]
) -> None:
    five[2].fail_next = 1
    write(d, user(Operation.UPDATE, "u1", BEFORE))
    engine = EventEngine(d)
    assert flush(engine) == (4, 1)
    d.clock.advance(13)
    assert flush(engine) == (1, 0)
    first, retry = (r.body for r in five[2].requests)
    assert first == retry
    assert five[2].events == five[0].events
    with d.store.read() as tx:
        delivered = tx.outbox.list_deliveries("acme")
    assert {x.status for x in delivered} == {DeliveryStatus.DELIVERED}
    assert retry in {x.body for x in delivered}


def test_subscriptions_of_other_topics_or_apps_share_nothing_they_should_not(d: Directory) -> None:
    """What is shared is keyed by everything the events depend on: a subscription to fewer topics,
    or of another app (an app's own scope change is its event only), renders its own."""
    with ExitStack() as stack:
        everything, users_only, other_app = (
            stack.enter_context(ind.serve(ind.WpsReceiver(app, secret)))
            for app, secret in ((APP_ID, APP_SECRET), (APP_ID, APP_SECRET), (OTHER_ID, OTHER_SECRET))
        )
        subscriptions.create(d, tenant_id="acme", kind="wps", app=APP_ID, url=everything.url)
        subscriptions.create(
            d, tenant_id="acme", kind="wps", app=APP_ID, url=users_only.url, topics=["kso.user"]
        )
        subscriptions.create(d, tenant_id="acme", kind="wps", app=OTHER_ID, url=other_app.url)
        write(
            d,
            user(Operation.CREATE, "u1"),
            ChangeRecord("acme", EntityKind.DEPARTMENT, Operation.CREATE, "7"),
            ChangeRecord("acme", EntityKind.APP_SCOPES, Operation.UPDATE, APP_ID),
        )
        assert flush(EventEngine(d)) == (6, 0)
        topics = [sorted(e["topic"] for e in s.events) for s in (everything, users_only, other_app)]
        assert topics == [
            ["kso.contact.permission_setting", "kso.dept", "kso.user"],
            ["kso.user"],
            ["kso.dept", "kso.user"],
        ]
        shared = [e for e in everything.events if e["topic"] != "kso.contact.permission_setting"]
        assert sorted(other_app.events, key=str) == sorted(shared, key=str)


def test_dingtalk_subscriptions_of_each_style_and_keys_get_their_own_events(d: Directory) -> None:
    """Two ``current`` subscriptions with keys of their own and a ``legacy`` one, in one pass: the
    batches are shared by style; each message has its subscription's event id, keys and owner."""
    with ExitStack() as stack:
        first, second, legacy = (
            stack.enter_context(ind.serve(ind.DingTalkReceiver(token, aes, owner)))
            for token, aes, owner in (
                (TOKEN, AES_KEY, APP_KEY),
                (TOKEN_2, AES_KEY_2, APP_KEY),
                (TOKEN, AES_KEY, CORP_ID),
            )
        )
        for server, token, aes, payload in (
            (first, TOKEN, AES_KEY, "current"),
            (second, TOKEN_2, AES_KEY_2, "current"),
            (legacy, TOKEN, AES_KEY, "legacy"),
        ):
            subscriptions.create(
                d, tenant_id="acme", kind="dingtalk", app=APP_KEY, url=server.url, token=token, aes_key=aes,
                payload=payload,
            )  # fmt: skip
        write(
            d,
            user(Operation.CREATE, "u1"),
            user(Operation.CREATE, "u2"),
            # roster changes raise an event per person in the ``current`` style only
            ChangeRecord("acme", EntityKind.ROSTER_RECORD, Operation.UPDATE, "u1"),
            ChangeRecord("acme", EntityKind.ATTRIBUTE_VALUE, Operation.UPDATE, "u2"),
        )
        assert flush(EventEngine(d)) == (7, 0)
        (old,) = legacy.events
        a, b = (
            sorted(s.events, key=lambda e: (e["EventType"], str(e.get("staffId")))) for s in (first, second)
        )
        assert len({e["eventId"] for e in a + b}) == 6

        def shared(e: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in e.items() if k not in ("eventId", "BizId")}

        assert [shared(e) for e in a] == [shared(e) for e in b]
        assert [(e["EventType"], e.get("userId"), e.get("staffId")) for e in a] == [
            ("hrm_user_record_change", None, "u1"),
            ("hrm_user_record_change", None, "u2"),
            ("user_add_org", ["u1", "u2"], None),
        ]
        ms = str(int(T0 * 1000))
        assert old == {
            "EventType": "user_add_org",
            "TimeStamp": ms,
            "CorpId": CORP_ID,
            "UserId": ["u1", "u2"],
        }


def test_stream_subscriptions_to_other_topics_get_their_own_events(d: Directory) -> None:
    """Two Stream subscriptions of one app, to users' and to departments' events, and one to every
    event, in one pass: each stores the events of its topics only, each with an id of its own."""
    subs = [
        subscriptions.create(d, tenant_id="acme", kind="dingtalk_stream", app=APP_KEY, url="", topics=topics)
        for topics in (("user_add_org",), ("org_dept_create",), ())
    ]
    write(
        d,
        user(Operation.CREATE, "u1"),
        ChangeRecord("acme", EntityKind.DEPARTMENT, Operation.CREATE, "7"),
    )
    EventEngine(d).fan_out()
    with d.store.read() as tx:
        stored = tx.outbox.list_deliveries("acme")
    by_sub = {
        s.id: sorted((x.topic, x.entity_keys) for x in stored if x.subscription_id == s.id) for s in subs
    }
    assert list(by_sub.values()) == [
        [("user_add_org", ("user:u1",))],
        [("org_dept_create", ("dept:7",))],
        [("org_dept_create", ("dept:7",)), ("user_add_org", ("user:u1",))],
    ]
    assert len({x.event_id for x in stored}) == 4
    data = {(x.subscription_id, x.topic): json.loads(x.body)["data"] for x in stored}
    assert data[subs[0].id, "user_add_org"] == data[subs[2].id, "user_add_org"]
    assert data[subs[1].id, "org_dept_create"] == data[subs[2].id, "org_dept_create"] == {"deptId": [7]}
