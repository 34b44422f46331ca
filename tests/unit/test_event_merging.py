"""One pass fans out the records of several transactions as one event per type where the platform
batches (WPS ``users``/``depts`` lists, DingTalk ``userId``/``UserId`` lists), keeping each
entity's events in commit order; on a real store (both backends), delivering to receivers written
from the protocol file (tests/event_receivers.py), which decrypt what they get with their own code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from test_event_engine import (
    AES_KEY,
    APP_ID,
    APP_KEY,
    CORP_ID,
    DEL,
    MEMBERSHIP,
    TOKEN,
    UP,
    USER_BEFORE,
    USER_SRC,
    C,
    D,
    Setup,
    U,
    acme,
    dingtalk_setup,
    rec,
    wps_setup,
)

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.dialects.event_batches import batches
from openroster.dialects.wps import events as wps_events
from openroster.events import subscriptions
from openroster.model.changes import ChangeRecord, DeliveryStatus, StoredChange


@pytest.fixture
def wps(directory: Directory) -> Iterator[Setup]:
    yield from wps_setup(acme(directory))


def named(name: str) -> dict[str, object]:
    return {**USER_BEFORE, "user_name": name}


def src(name: str) -> dict[str, object]:
    return {**USER_SRC, "user_name": name}


def user(uid: str, before: dict[str, object] | None = None) -> dict[str, Any]:
    return {"company_id": "C1", "user_id": uid, **({"src": before} if before else {})}


def test_order_per_entity(wps: Setup) -> None:
    wps.server.fail_next = 1
    wps.write(rec(U, UP, "u1", {**USER_BEFORE, "user_name": "first"}))
    assert wps.flush() == (0, 1)
    wps.write(rec(U, UP, "u1", {**USER_BEFORE, "user_name": "second"}))
    assert wps.flush() == (0, 2)  # u1's second event waits for its first
    wps.write(rec(U, UP, "u2", USER_BEFORE))
    assert wps.flush() == (1, 2)  # u2 goes; u1's second event still waits
    assert [e["payload"]["users"][0]["user_id"] for e in wps.server.events] == ["u2"]
    wps.d.clock.advance(600)
    assert wps.flush() == (2, 0)
    names = [e["payload"]["users"][0]["src"]["user_name"] for e in wps.server.events[1:]]
    assert names == ["first", "second"]


def test_several_transactions_go_as_one_event_per_type_each_entity_in_commit_order(wps: Setup) -> None:
    wps.write(rec(U, C, "u1"))
    wps.write(rec(U, C, "u2"), rec(D, C, "7"))
    wps.write(rec(U, UP, "u1", named("A")))
    wps.write(rec(U, C, "u3"))
    wps.write(rec(MEMBERSHIP, UP, "u2", named("M")))
    wps.write(rec(U, UP, "u1", named("B")))  # u1 again: an event of its own, after its first
    assert wps.flush() == (4, 0)
    got = [(e["topic"], e["operation"], e["payload"]) for e in wps.server.events]
    assert sorted(got, key=orjson.dumps) == sorted(
        [
            ("kso.user", "create", {"company_id": "C1", "users": [user("u1"), user("u2"), user("u3")]}),
            ("kso.dept", "create", {"company_id": "C1", "depts": [{"company_id": "C1", "dept_id": "7"}]}),
            (
                "kso.user",
                "update",
                {"company_id": "C1", "users": [user("u1", src("A")), user("u2", src("M"))]},
            ),
            ("kso.user", "update", {"company_id": "C1", "users": [user("u1", src("B"))]}),
        ],
        key=orjson.dumps,
    )
    # Each person's events arrive in commit order: a later one waits for the earlier one listing it.
    u1 = [
        (op, u.get("src", {}).get("user_name"))
        for topic, op, p in got
        if topic == "kso.user"
        for u in p["users"]
        if u["user_id"] == "u1"
    ]
    assert u1 == [("create", None), ("update", "A"), ("update", "B")]
    keys = sorted(x.entity_keys for x in wps.deliveries())
    assert keys == sorted(
        [("user:u1", "user:u2", "user:u3"), ("dept:7",), ("user:u1", "user:u2"), ("user:u1",)]
    )


def test_a_merged_event_is_retried_and_replayed_byte_for_byte(wps: Setup) -> None:
    wps.server.fail_next = 1
    for uid in ("u1", "u2", "u3"):
        wps.write(rec(U, C, uid))
    assert wps.flush() == (0, 1)
    (first,) = wps.deliveries()
    assert (first.status, first.entity_keys) == (DeliveryStatus.RETRYING, ("user:u1", "user:u2", "user:u3"))
    wps.d.clock.advance(13)
    assert wps.flush() == (1, 0)
    (sub,) = {s.subscription_id for s in wps.deliveries()}
    assert subscriptions.replay(wps.d, sub, 0) == 1
    assert wps.flush() == (1, 0)
    bodies = [r.body for r in wps.server.requests]
    assert len(bodies) == 3
    assert bodies[0] == bodies[1] == bodies[2] == first.body
    assert wps.server.events[-1]["payload"]["users"] == [user("u1"), user("u2"), user("u3")]


def test_a_person_with_an_open_event_goes_alone_and_holds_up_no_other(wps: Setup) -> None:
    wps.server.fail_next = 1
    wps.write(rec(U, UP, "u1", named("first")))
    assert wps.flush() == (0, 1)
    wps.write(rec(U, UP, "u1", named("second")))  # u1's first is open: an event of its own
    wps.write(rec(U, UP, "u2", named("other")))
    wps.write(rec(U, UP, "u3", named("third")))  # joins u2's
    assert wps.flush() == (1, 2)
    wps.d.clock.advance(600)
    assert wps.flush() == (2, 0)
    got = [[(u["user_id"], u["src"]["user_name"]) for u in e["payload"]["users"]] for e in wps.server.events]
    assert got == [[("u2", "other"), ("u3", "third")], [("u1", "first")], [("u1", "second")]]


def test_one_refused_event_holds_up_only_its_people_pass_after_pass(wps: Setup) -> None:
    wps.server.fail_next = 1
    wps.write(rec(U, UP, "u1", USER_BEFORE))
    assert wps.flush() == (0, 1)  # u1's event refused: retrying
    for a, b in (("u1", "u2"), ("u2", "u3"), ("u3", "u4"), ("u4", "u5")):
        wps.write(rec(U, UP, a, USER_BEFORE))
        wps.write(rec(U, UP, b, USER_BEFORE))
        assert wps.flush() == (1, 2)  # only u1's two wait
    delivered = [u["user_id"] for e in wps.server.events for u in e["payload"]["users"]]
    assert delivered == ["u2", "u2", "u3", "u3", "u4", "u4", "u5"]  # 7 of the 9, as one per write
    waiting = [x.entity_keys for x in wps.deliveries() if x.status is not DeliveryStatus.DELIVERED]
    assert waiting == [("user:u1",), ("user:u1",)]


@pytest.mark.parametrize("payload", ["current", "legacy"])
def test_dingtalk_lists_several_transactions_people_in_one_event_retried_as_it_was(
    directory: Directory, payload: str
) -> None:
    owner = APP_KEY if payload == "current" else CORP_ID
    for s in dingtalk_setup(acme(directory), ind.DingTalkReceiver(TOKEN, AES_KEY, owner), payload):
        s.server.fail_next = 1
        for uid in ("u1", "u2"):
            s.write(rec(U, C, uid))
        assert s.flush() == (0, 1)
        s.d.clock.advance(600)
        assert s.flush() == (1, 0)
        tried = s.server.requests
        assert len(tried) == 2
        assert (tried[0].query, tried[0].body) == (tried[1].query, tried[1].body)
        event = tried[1].event
        assert event is not None and event["EventType"] == "user_add_org"
        assert event.get("userId", event.get("UserId")) == ["u1", "u2"]


def _stored(*records: tuple[int, ChangeRecord]) -> list[StoredChange]:
    return [StoredChange(seq, n, seq * 1000, r) for n, (seq, r) in enumerate(records)]


def test_an_entitys_events_keep_commit_order_across_types_and_a_full_event() -> None:
    changes = _stored(
        (1, rec(U, UP, "u1", USER_BEFORE)),
        (1, rec(MEMBERSHIP, UP, "u1", USER_BEFORE)),  # the same transaction: listed once
        (2, rec(U, DEL, "u1", USER_BEFORE)),
        (3, rec(U, UP, "u2", USER_BEFORE)),  # joins the first update: u2 is in no later event
        (4, rec(U, UP, "u1", USER_BEFORE)),  # after u1's delete: an update of its own
        (5, rec(U, UP, "u3", USER_BEFORE)),  # joins that one, the open update event
        (6, rec(U, UP, "u4", USER_BEFORE)),  # the open update holds two: another
    )
    got = [
        (b.key[1], b.seq, b.committed_at, [c.record.entity_id for c in b.changes])
        for b in batches(changes, lambda c: wps_events.event_of(c, APP_ID), limit=2)
    ]
    # Each event's seq and time are those of the record that opened it: u1's never go back.
    assert got == [
        ("update", 1, 1000, ["u1", "u2"]),
        ("delete", 2, 2000, ["u1"]),
        ("update", 4, 4000, ["u1", "u3"]),
        ("update", 6, 6000, ["u4"]),
    ]


def test_one_transactions_records_of_one_person_are_one_event_listing_them_once(directory: Directory) -> None:
    """A dismissal that also renames and moves (``user_updated`` writes the user's record, then its
    membership's): its modify and leave events, each once, as one transaction raises them."""
    for s in dingtalk_setup(acme(directory), ind.DingTalkReceiver(TOKEN, AES_KEY, APP_KEY), "current"):
        before = {**USER_BEFORE, "status": "active"}
        s.write(
            ChangeRecord("acme", U, UP, "u1", ("user_name", "status"), before, after={"status": "dimission"}),
            ChangeRecord("acme", MEMBERSHIP, UP, "u1", ("dept_ids",), before),
        )
        assert s.flush() == (2, 0)
        got = [(r.event["EventType"], r.event["userId"]) for r in s.server.requests if r.event]
        assert got == [("user_modify_org", ["u1"]), ("user_leave_org", ["u1"])]


def test_a_full_event_does_not_list_a_person_again_for_another_record_of_the_transaction() -> None:
    changes = _stored(
        *((1, rec(U, UP, f"u{i}", USER_BEFORE)) for i in range(150)),
        *((1, rec(MEMBERSHIP, UP, f"u{i}", USER_BEFORE)) for i in range(150)),
    )
    got = [
        [c.record.entity_id for c in b.changes]
        for b in batches(changes, lambda c: wps_events.event_of(c, APP_ID))
    ]
    assert got == [[f"u{i}" for i in range(100)], [f"u{i}" for i in range(100, 150)]]


def test_a_record_whose_entity_is_in_a_later_event_of_another_type_opens_its_own() -> None:
    changes = _stored(
        (1, rec(U, UP, "u2", USER_BEFORE)),
        (2, rec(U, C, "u1")),
        (3, rec(U, UP, "u1", USER_BEFORE)),  # not into u2's update: it would go before u1's create
    )
    got = [
        (b.key[1], [c.record.entity_id for c in b.changes])
        for b in batches(changes, lambda c: wps_events.event_of(c, APP_ID))
    ]
    assert got == [("update", ["u2"]), ("create", ["u1"]), ("update", ["u1"])]


def test_a_person_created_then_updated_after_anothers_update_gets_both_in_order(wps: Setup) -> None:
    wps.write(rec(U, UP, "u2", USER_BEFORE))
    wps.write(rec(U, C, "u1"))
    wps.write(rec(U, UP, "u1", named("A")))
    assert wps.flush() == (3, 0)
    got = [(e["operation"], [u["user_id"] for u in e["payload"]["users"]]) for e in wps.server.events]
    assert sorted(got) == [("create", ["u1"]), ("update", ["u1"]), ("update", ["u2"])]
    assert [op for op, uids in got if "u1" in uids] == ["create", "update"]


def test_a_held_entity_is_in_events_of_its_own_that_no_other_joins() -> None:
    changes = _stored(
        (1, rec(U, UP, "u1", USER_BEFORE)),
        (1, rec(MEMBERSHIP, UP, "u1", USER_BEFORE)),  # the same transaction: listed once
        (2, rec(U, UP, "u2", USER_BEFORE)),
        (3, rec(U, UP, "u1", USER_BEFORE)),
        (4, rec(U, UP, "u3", USER_BEFORE)),
        (5, rec(D, UP, "u1", USER_BEFORE)),  # a department of the same id is another entity
    )
    got = [
        (b.key, b.entity_keys())
        for b in batches(changes, lambda c: wps_events.event_of(c, APP_ID), held={"user:u1"})
    ]
    assert got == [
        (("kso.user", "update"), ("user:u1",)),
        (("kso.user", "update"), ("user:u2", "user:u3")),
        (("kso.user", "update"), ("user:u1",)),
        (("kso.dept", "update"), ("dept:u1",)),
    ]


def test_a_person_in_an_event_behind_a_refused_one_goes_alone_too(wps: Setup) -> None:
    wps.write(rec(U, UP, "u1", named("first")))
    assert wps.engine.fan_out() == 1  # u1's event, pending: not sent yet
    wps.write(rec(U, UP, "u1", named("second")))
    wps.write(rec(U, UP, "u2", named("other")))
    assert wps.engine.fan_out() == 1  # u1's is pending, so merged: [u1, u2]
    wps.server.fail_next = 1
    assert wps.flush() == (0, 2)  # u1's first refused; [u1, u2] waits behind it
    wps.write(rec(U, UP, "u2", named("again")))  # u2 waits behind a refusal: alone
    wps.write(rec(U, UP, "u3", named("third")))
    assert wps.flush() == (1, 3)
    assert [[u["user_id"] for u in e["payload"]["users"]] for e in wps.server.events] == [["u3"]]
    wps.d.clock.advance(600)
    assert wps.flush() == (3, 0)
    got = [[u["user_id"] for u in e["payload"]["users"]] for e in wps.server.events[1:]]
    assert got == [["u1"], ["u1", "u2"], ["u2"]]


def test_a_person_two_events_behind_a_refused_one_goes_alone_too(wps: Setup) -> None:
    """Events {u1}, {u1, u2}, {u2, u3} with the first refused: the third waits behind the second,
    which waits behind the refusal, so u3's next change goes alone, pass after pass, and a person
    in no event of that chain joins no event of it."""
    wps.write(rec(U, UP, "u1", named("first")))
    assert wps.engine.fan_out() == 1
    wps.write(rec(U, UP, "u1", named("second")))
    wps.write(rec(U, UP, "u2", named("other")))
    assert wps.engine.fan_out() == 1  # [u1, u2]
    wps.write(rec(U, UP, "u2", named("again")))
    wps.write(rec(U, UP, "u3", named("third")))
    assert wps.engine.fan_out() == 1  # [u2, u3]
    wps.server.fail_next = 1
    assert wps.flush() == (0, 3)  # u1's first refused; the other two wait behind it
    for a, b in (("u3", "u4"), ("u4", "u5"), ("u5", "u6")):
        wps.write(rec(U, UP, a, named("x")))
        wps.write(rec(U, UP, b, named("y")))
        wps.flush()
    delivered = [[u["user_id"] for u in e["payload"]["users"]] for e in wps.server.events]
    assert delivered == [["u4"], ["u4", "u5"], ["u5", "u6"]]
    waiting = [x.entity_keys for x in wps.deliveries() if x.status is not DeliveryStatus.DELIVERED]
    assert waiting == [("user:u1",), ("user:u1", "user:u2"), ("user:u2", "user:u3"), ("user:u3",)]
    wps.d.clock.advance(600)
    assert wps.flush() == (4, 0)
    got = [[u["user_id"] for u in e["payload"]["users"]] for e in wps.server.events[3:]]
    assert got == [["u1"], ["u1", "u2"], ["u2", "u3"], ["u3"]]
