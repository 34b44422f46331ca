"""The event engine on a real store (both backends), delivering to receivers written from the
protocol file (tests/event_receivers.py) over 127.0.0.1; what they got is decrypted by their code."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import event_receivers as ind
from conftest import Databases
from openroster.core.directory import Directory
from openroster.core.runtime.clock import FixedClock
from openroster.core.tenancy import apps, tenants
from openroster.events import engine as engine_module
from openroster.events import subscriptions
from openroster.events.engine import EventEngine, wall_ms
from openroster.model.changes import ChangeRecord, DeliveryStatus, EntityKind, Operation
from openroster.model.errors import InvalidValue
from openroster.server.app import open_directory

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"
APP_KEY, CORP_ID = "dingappkey", "dingcorp1"
TOKEN, AES_KEY = "tok-1", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
T0 = 1_800_000_000.0

USER_BEFORE = {
    "user_name": "Old Name",
    "dept_ids": [1, 7],
    "role": "normal",
    "email": "old@acme.test",
    "phone": "+86-13800000000",
    "avatar": "https://a.test/x.png",
    "alias_name": "Olly",
}
USER_SRC = {**USER_BEFORE, "dept_ids": ["1", "7"]}
DEPT_BEFORE = {"name": "Sales", "parent_id": 1, "leader_ids": ["u1"]}
DEPT_SRC = {"name": "Sales", "parent_id": "1", "leader_ids": ["u1"]}


@pytest.fixture
def d(directory: Directory) -> Directory:
    return acme(directory)


def acme(directory: Directory) -> Directory:
    """The test's directory at a fixed moment, with tenant acme and a WPS app."""
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1", dingtalk_corp_id=CORP_ID)
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    return directory.at_clock(FixedClock(T0))


@dataclass
class Setup:
    d: Directory
    engine: EventEngine
    server: ind.ReceiverServer

    def write(self, *records: ChangeRecord, quiet: bool = False) -> None:
        with self.d.writer(quiet=quiet) as tx:
            for r in records:
                tx.record(r)

    def flush(self) -> tuple[int, int]:
        return asyncio.run(self.engine.flush())

    def deliveries(self) -> list[Any]:
        with self.d.store.read() as tx:
            return tx.outbox.list_deliveries("acme")


@pytest.fixture
def wps(d: Directory) -> Iterator[Setup]:
    yield from wps_setup(d)


def wps_setup(d: Directory) -> Iterator[Setup]:
    """A WPS subscription of acme's app to a receiver written from the protocol file."""
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        subscriptions.create(d, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        yield Setup(d, EventEngine(d), server)


def dingtalk_setup(d: Directory, receiver: ind.DingTalkReceiver, payload: str) -> Iterator[Setup]:
    with ind.serve(receiver) as server:
        subscriptions.create(
            d, tenant_id="acme", kind="dingtalk", app=APP_KEY, url=server.url, token=TOKEN, aes_key=AES_KEY,
            payload=payload,
        )  # fmt: skip
        yield Setup(d, EventEngine(d), server)


@pytest.fixture(params=["current", "legacy"])
def dingtalk(d: Directory, request: pytest.FixtureRequest) -> Iterator[Setup]:
    owner = APP_KEY if request.param == "current" else CORP_ID
    yield from dingtalk_setup(d, ind.DingTalkReceiver(TOKEN, AES_KEY, owner), request.param)


def rec(
    kind: EntityKind, op: Operation, entity_id: str, before: dict[str, object] | None = None
) -> ChangeRecord:
    return ChangeRecord("acme", kind, op, entity_id, ("name",), before, actor=APP_ID)


U, D, C, UP, DEL = (
    EntityKind.USER,
    EntityKind.DEPARTMENT,
    Operation.CREATE,
    Operation.UPDATE,
    Operation.DELETE,
)


def users(src: dict[str, object] | None = None) -> dict[str, Any]:
    item = {"company_id": "C1", "user_id": "u1", **({"src": src} if src else {})}
    return {"company_id": "C1", "users": [item]}


def depts(src: dict[str, object] | None = None) -> dict[str, Any]:
    item = {"company_id": "C1", "dept_id": "7", **({"src": src} if src else {})}
    return {"company_id": "C1", "depts": [item]}


def user_change(field: str, old: str, new: str, also: tuple[str, ...] = ()) -> ChangeRecord:
    """A user update of ``field`` from ``old`` to ``new`` (and of the fields ``also``)."""
    before = {**USER_BEFORE, "status": "active", field: old}
    return ChangeRecord("acme", U, UP, "u1", (*also, field), before, after={field: new})


MEMBERSHIP, SCOPES = EntityKind.MEMBERSHIP, EntityKind.APP_SCOPES
SCOPE_TOPIC = "kso.contact.permission_setting"
WPS_CASES = [
    pytest.param(rec(U, C, "u1"), "kso.user", "create", users(), id="user-create"),
    pytest.param(rec(U, UP, "u1", USER_BEFORE), "kso.user", "update", users(USER_SRC), id="user-update"),
    pytest.param(rec(U, DEL, "u1", USER_BEFORE), "kso.user", "delete", users(USER_SRC), id="user-delete"),
    pytest.param(
        rec(MEMBERSHIP, C, "u1", USER_BEFORE), "kso.user", "update", users(USER_SRC), id="membership"
    ),
    pytest.param(rec(D, C, "7"), "kso.dept", "create", depts(), id="dept-create"),
    pytest.param(rec(D, UP, "7", DEPT_BEFORE), "kso.dept", "update", depts(DEPT_SRC), id="dept-update"),
    pytest.param(rec(D, DEL, "7", DEPT_BEFORE), "kso.dept", "delete", depts(DEPT_SRC), id="dept-delete"),
    pytest.param(
        rec(SCOPES, UP, APP_ID), SCOPE_TOPIC, "update", {"company_id": "C1"}, id="permission-setting"
    ),
]


# The rendering matrices run on SQLite only: what they check (each record's event, field by field)
# is rendered from the change records by the channel, the same on either store; the engine's store
# work on PostgreSQL is the rest of this module's (retries, order, leases, outcomes).
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@SQLITE_ONLY
@pytest.mark.parametrize(("record", "topic", "operation", "payload"), WPS_CASES)
def test_wps_renders_each_topic_and_operation(
    wps: Setup, record: ChangeRecord, topic: str, operation: str, payload: dict[str, Any]
) -> None:
    wps.write(record)
    assert wps.flush() == (1, 0)
    assert wps.server.events == [{"topic": topic, "operation": operation, "payload": payload}]
    (sent,) = wps.server.requests
    assert ind.json.loads(sent.body)["time"] == int(T0)


def test_wps_ignores_what_it_does_not_send(wps: Setup) -> None:
    wps.write(rec(EntityKind.APP_SCOPES, UP, "another-app"), rec(EntityKind.ROSTER_RECORD, UP, "u1"))
    assert wps.flush() == (0, 0)
    assert wps.server.requests == []


def test_wps_batches_one_transaction_by_topic_and_operation(wps: Setup) -> None:
    wps.write(*(rec(U, C, f"u{i}") for i in range(150)), rec(D, C, "9"), rec(U, UP, "u0", USER_BEFORE))
    assert wps.flush() == (4, 0)
    got = [
        (e["topic"], e["operation"], len(e["payload"].get("users", e["payload"].get("depts"))))
        for e in wps.server.events
    ]
    assert sorted(got) == [
        ("kso.dept", "create", 1),
        ("kso.user", "create", 50),
        ("kso.user", "create", 100),
        ("kso.user", "update", 1),
    ]


ROSTER = EntityKind.ROSTER_RECORD
RECORD_CHANGE = {"EventType": "hrm_user_record_change", "actionType": "userInfoChange", "staffId": "u1"}
DINGTALK_CASES = [
    pytest.param(rec(U, C, "u1"), {"EventType": "user_add_org", "userId": ["u1"]}, id="user-create"),
    pytest.param(rec(U, UP, "u1"), {"EventType": "user_modify_org", "userId": ["u1"]}, id="user-update"),
    pytest.param(rec(U, DEL, "u1"), {"EventType": "user_leave_org", "userId": ["u1"]}, id="user-delete"),
    pytest.param(rec(D, C, "7"), {"EventType": "org_dept_create", "deptId": [7]}, id="dept-create"),
    pytest.param(rec(D, UP, "7"), {"EventType": "org_dept_modify", "deptId": [7]}, id="dept-update"),
    pytest.param(rec(D, DEL, "7"), {"EventType": "org_dept_remove", "deptId": [7]}, id="dept-delete"),
    pytest.param(rec(ROSTER, UP, "u1"), RECORD_CHANGE, id="roster-record"),
    *(
        pytest.param(user_change(field, old, new), {"EventType": event, "userId": ["u1"]}, id=event_id)
        for field, old, new, event, event_id in (
            ("status", "active", "dimission", "user_leave_org", "dismissal"),
            ("status", "notactive", "active", "user_active_org", "activation"),
            ("status", "active", "disabled", "user_modify_org", "disabled"),
            ("role", "normal", "admin", "org_admin_add", "admin-add"),
            ("role", "super-admin", "normal", "org_admin_remove", "admin-remove"),
        )
    ),
]


def test_a_dismissal_that_also_renames_raises_both_events(dingtalk: Setup) -> None:
    dingtalk.write(user_change("status", "active", "dimission", also=("user_name",)))
    assert dingtalk.flush() == (2, 0)
    assert [e["EventType"] for e in dingtalk.server.events] == ["user_modify_org", "user_leave_org"]


def test_a_role_between_two_admin_roles_raises_no_admin_event(dingtalk: Setup) -> None:
    dingtalk.write(user_change("role", "admin", "super-admin"))
    assert dingtalk.flush() == (0, 0)


@SQLITE_ONLY
@pytest.mark.parametrize(("record", "fields"), DINGTALK_CASES)
def test_dingtalk_renders_each_event_in_each_style(
    dingtalk: Setup, record: ChangeRecord, fields: dict[str, Any]
) -> None:
    dingtalk.write(record)
    legacy = getattr(dingtalk.server.receiver, "owner", None) == CORP_ID
    if legacy and fields["EventType"] == "hrm_user_record_change":
        assert dingtalk.flush() == (0, 0)  # legacy has no roster event
        return
    assert dingtalk.flush() == (1, 0)
    (event,) = dingtalk.server.events
    ms = int(T0 * 1000)
    if legacy:
        ids = {"UserId": fields["userId"]} if "userId" in fields else {"DeptId": fields["deptId"]}
        assert event == {"EventType": fields["EventType"], "TimeStamp": str(ms), "CorpId": CORP_ID, **ids}
        return
    assert event["eventId"] == event["BizId"] == dingtalk.deliveries()[0].event_id
    expected = {"EventTime": ms, "CorpId": CORP_ID, **fields}
    if "userId" in fields:
        expected["timeStamp"] = str(ms)
    assert {k: v for k, v in event.items() if k not in ("eventId", "BizId")} == expected


def test_a_failed_wps_event_is_retried_byte_for_byte(wps: Setup) -> None:
    wps.server.fail_next = 1
    wps.write(rec(U, C, "u1"))
    assert wps.flush() == (0, 1)
    (first,) = wps.deliveries()
    assert (first.status, first.attempts, first.last_status) == (DeliveryStatus.RETRYING, 1, 503)
    assert wps.flush() == (0, 1)  # not due yet: about 10 s on the directory's clock
    wps.d.clock.advance(13)
    assert wps.flush() == (1, 0)
    bodies = [r.body for r in wps.server.requests]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert wps.deliveries()[0].status is DeliveryStatus.DELIVERED


@pytest.mark.parametrize("payload", ["current"])
def test_a_failed_dingtalk_event_keeps_its_event_id(d: Directory, payload: str) -> None:
    for s in dingtalk_setup(d, ind.DingTalkReceiver(TOKEN, AES_KEY, APP_KEY), payload):
        s.server.fail_next = 1
        s.write(rec(U, C, "u1"))
        assert s.flush() == (0, 1)
        s.d.clock.advance(600)
        assert s.flush() == (1, 0)
        tried = [r.event for r in s.server.requests]
        assert len(tried) == 2
        assert tried[0] is not None and tried[1] is not None
        assert (tried[0]["eventId"], tried[0]["BizId"]) == (tried[1]["eventId"], tried[1]["BizId"])


class NoSuccess(ind.DingTalkReceiver):
    """A receiver that answers 200 with a signed, encrypted reply that is not ``success``."""

    def success(self) -> dict[str, str]:
        encrypt = ind.dingtalk_encrypt(self.aes_key, self.owner, b"nope")
        signature = ind.dingtalk_signature(self.token, "1", "n", encrypt)
        return {"msg_signature": signature, "timeStamp": "1", "nonce": "n", "encrypt": encrypt}


def test_a_dingtalk_reply_that_is_not_success_is_retried(d: Directory) -> None:
    for s in dingtalk_setup(d, NoSuccess(TOKEN, AES_KEY, APP_KEY), "current"):
        s.write(rec(U, C, "u1"))
        assert s.flush() == (0, 1)
        (delivery,) = s.deliveries()
        assert (delivery.status, delivery.last_status) == (DeliveryStatus.RETRYING, 200)
        assert "success" in (delivery.last_error or "")


def test_dead_after_24_hours(wps: Setup) -> None:
    wps.server.fail_next = 1000
    wps.write(rec(U, C, "u1"))
    assert wps.flush() == (0, 1)
    wps.d.clock.advance(12 * 3600)
    assert wps.flush() == (0, 1)
    wps.d.clock.advance(12 * 3600)
    assert wps.flush() == (0, 0)
    (delivery,) = wps.deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)


def test_quiet_writes_emit_nothing(wps: Setup) -> None:
    wps.write(rec(U, C, "u1"), quiet=True)
    assert wps.flush() == (0, 0)
    assert wps.server.requests == []
    assert wps.deliveries() == []


def test_a_paused_subscription_gets_its_events_on_resume(wps: Setup) -> None:
    (sub_id,) = {s.id for s in _subscriptions(wps.d)}
    subscriptions.set_status(wps.d, sub_id, subscriptions.SubscriptionStatus.PAUSED)
    wps.write(rec(U, C, "u1"))
    assert wps.flush() == (0, 0)
    subscriptions.set_status(wps.d, sub_id, subscriptions.SubscriptionStatus.ACTIVE)
    assert wps.flush() == (1, 0)


def _subscriptions(d: Directory) -> list[Any]:
    with d.store.read() as tx:
        return tx.outbox.list_subscriptions("acme", lambda s, c: d.master_key.unseal(s, context=c))


def test_nothing_is_lost_between_fan_out_and_delivery(
    wps: Setup, databases: Databases, tmp_path: Path
) -> None:
    wps.write(rec(U, C, "u1"), rec(D, C, "7"))
    assert wps.engine.fan_out() == 2  # then the process dies before sending
    wps.d.store.dispose()
    again = open_directory(databases.settings_for(tmp_path / "data"))
    try:
        assert asyncio.run(EventEngine(again.at_clock(FixedClock(T0))).flush()) == (2, 0)
    finally:
        again.store.dispose()
    assert sorted(e["topic"] for e in wps.server.events) == ["kso.dept", "kso.user"]


def test_the_background_task_delivers_after_a_local_commit(wps: Setup) -> None:
    async def scenario() -> None:
        wps.engine.poll_interval = 60  # only the commit's wake-up can deliver in time
        wps.engine.start()
        try:
            await asyncio.sleep(0.05)
            wps.write(rec(U, C, "u1"))
            for _ in range(250):
                if wps.server.events:
                    break
                await asyncio.sleep(0.02)
        finally:
            await wps.engine.stop()

    asyncio.run(scenario())
    assert [e["topic"] for e in wps.server.events] == ["kso.user"]


def test_without_subscriptions_a_commit_wakes_no_pass_until_one_is_made(d: Directory) -> None:
    engine = EventEngine(d, poll_interval=60)  # only wake-ups can make a pass in time
    passes = 0
    deliver_due = engine.deliver_due

    async def counted(sender: Any) -> None:
        nonlocal passes
        passes += 1
        await deliver_due(sender)

    engine.deliver_due = counted  # type: ignore[method-assign]
    setup = Setup(d, engine, None)  # type: ignore[arg-type]

    async def scenario(server: ind.ReceiverServer) -> None:
        engine.start()
        try:
            await asyncio.sleep(0.05)
            assert passes == 1  # the first pass finds no subscription and nothing open
            for n in range(5):
                setup.write(rec(U, C, f"u{n}"))
            await asyncio.sleep(0.1)
            assert passes == 1
            subscriptions.create(d, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
            engine.wake()  # as the control plane's subscribe does
            await asyncio.sleep(0.05)
            setup.write(rec(U, C, "u9"))
            for _ in range(250):
                if server.events:
                    break
                await asyncio.sleep(0.02)
        finally:
            await engine.stop()

    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        asyncio.run(scenario(server))
        assert [e["topic"] for e in server.events] == ["kso.user"]


def test_two_processes_deliver_each_event_once(wps: Setup, databases: Databases, tmp_path: Path) -> None:
    wps.write(*(rec(U, C, f"u{i}") for i in range(3)))
    for i in range(20):
        wps.write(rec(U, UP, f"u{i % 3}", {**USER_BEFORE, "user_name": f"v{i}"}))
    other = open_directory(databases.settings_for(tmp_path / "data"))
    try:
        second = EventEngine(other.at_clock(FixedClock(T0)))

        async def both() -> list[tuple[int, int]]:
            return list(await asyncio.gather(wps.engine.flush(), second.flush()))

        results = asyncio.run(both())
        results.append(wps.flush())  # whatever the other held when the first finished
    finally:
        other.store.dispose()
    # One pass may fan the 21 transactions out as fewer events (each person once an event).
    made = len(wps.deliveries())
    assert sum(delivered for delivered, _ in results) == made
    assert len(wps.server.requests) == made
    for uid in ("u0", "u1", "u2"):
        names = [
            user["src"]["user_name"]
            for e in wps.server.events
            if e["operation"] == "update"
            for user in e["payload"]["users"]
            if user["user_id"] == uid
        ]
        assert names == [f"v{i}" for i in range(20) if i % 3 == int(uid[1])]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"kind": "sms"}, "not a channel", id="unknown-kind"),
        pytest.param({"topics": ("kso.nope",)}, "kso.nope", id="unknown-topic"),
        pytest.param({"payload": "v3"}, "current or legacy", id="unknown-payload"),
        pytest.param(
            {"kind": "dingtalk", "token": "t", "aes_key": "short"}, "43 characters", id="bad-aes-key"
        ),
        pytest.param({"kind": "dingtalk"}, "required", id="dingtalk-without-keys"),
    ],
)
def test_a_bad_subscription_is_refused(d: Directory, fields: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"tenant_id": "acme", "kind": "wps", "app": APP_ID, "url": "http://127.0.0.1:9/x"}
    with pytest.raises(InvalidValue, match=message):
        subscriptions.create(d, **{**args, **fields})


def test_a_claim_left_by_a_dead_process_is_taken_over_when_its_lease_ends(
    wps: Setup, databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wps.write(rec(U, C, "u1"))
    wps.engine.fan_out()
    dying = EventEngine(wps.d, lease_ms=30_000)
    assert len(dying.claim_due()) == 1  # claimed, then the process is killed before it sends
    assert wps.flush() == (0, 1)  # held: nobody else sends it meanwhile
    # Leases run on real time (a moved server clock must not free them): 31 s later, it has ended.
    later = wall_ms() + 31_000
    monkeypatch.setattr(engine_module, "wall_ms", lambda: later)
    assert wps.flush() == (1, 0)
    (delivery,) = wps.deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_many_held_up_events_of_one_entity_do_not_starve_another(wps: Setup) -> None:
    wps.server.fail_next = 1
    wps.write(rec(U, C, "u1"))
    assert wps.flush() == (0, 1)
    for i in range(150):  # more than one claim's page, all held up behind u1's retrying create
        wps.write(rec(U, UP, "u1", {**USER_BEFORE, "user_name": f"v{i}"}))
    wps.write(rec(U, C, "u2"))
    assert wps.flush() == (1, 151)
    assert [e["payload"]["users"][0]["user_id"] for e in wps.server.events] == ["u2"]


def test_a_poll_with_only_held_up_events_takes_no_write_lock(
    wps: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    wps.server.fail_next = 1
    wps.write(rec(U, C, "u1"))
    assert wps.flush() == (0, 1)
    wps.d.clock.advance(600)
    wps.server.fail_next = 1
    wps.write(rec(U, UP, "u1", USER_BEFORE))  # held up behind the create, which fails again
    assert wps.flush() == (0, 2)
    wps.d.clock.advance(600)  # the create is due again: the update still waits for it
    wps.server.fail_next = 1
    assert wps.flush() == (0, 2)
    writes: list[object] = []
    real_write = wps.d.store.write

    def counted(**kw: Any) -> Any:
        writes.append(kw)
        return real_write(**kw)

    monkeypatch.setattr(wps.d.store, "write", counted)
    assert wps.flush() == (0, 2)  # the create's retry is not due; the update is held up
    assert writes == []
    wps.d.clock.advance(600)
    assert wps.flush() == (2, 0)
    assert writes  # once something is claimable, it is claimed in a write
    assert [e["operation"] for e in wps.server.events] == ["create", "update"]


def test_an_outcome_is_written_by_a_job_of_its_own_not_by_a_following_pass(wps: Setup) -> None:
    wps.write(rec(U, C, "u1"))
    assert wps.flush() == (1, 0)
    t = wps.engine.timings
    # One pass fanned out and claimed; the attempt's outcome went in a job of its own, no claim.
    assert (t.passes.ran.count, t.send.count, t.outcomes.ran.count) == (1, 1, 1)
    (delivery,) = wps.deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


class TickingClock(FixedClock):
    """A clock that moves a millisecond each time it is read."""

    def now(self) -> float:
        self._at += 0.001
        return super().now()


def test_a_writes_event_is_claimed_in_the_commit_that_stores_it_as_the_clock_runs(wps: Setup) -> None:
    # Only the commit's wake-up can deliver in time; the clock moves between the pass's read and
    # its job, so the job must claim at its own time what it has just stored.
    engine = EventEngine(wps.d.at_clock(TickingClock(T0)), poll_interval=60)

    async def scenario() -> None:
        engine.start()
        try:
            await asyncio.sleep(0.05)
            wps.write(rec(U, C, "u1"))
            await _until(lambda: bool(wps.server.events))
        finally:
            await engine.stop()

    asyncio.run(scenario())
    assert engine.timings.passes.ran.count == 1  # fanned out and claimed in one job


class HeldAcks:
    """A Stream transport whose clients ACK only when the test says so (``release``)."""

    def __init__(self) -> None:
        self.pushed: list[str] = []
        self.release: asyncio.Event | None = None

    def ready(self, sub: Any) -> bool:
        return True

    async def send(self, ctx: Any, delivery: Any) -> tuple[int | None, str | None]:
        self.pushed.append(delivery.event_id)
        assert self.release is not None
        await self.release.wait()
        return 200, None


async def _until(done: Any) -> None:
    for _ in range(250):
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within 5 s")


def test_a_stream_ack_awaited_holds_back_no_other_subscription(wps: Setup) -> None:
    subscriptions.create(wps.d, tenant_id="acme", kind="dingtalk_stream", app=APP_KEY, url="")
    acks = HeldAcks()
    # Only commits and written outcomes wake it in time (no poll).
    engine = EventEngine(wps.d, poll_interval=60, transports={"dingtalk_stream": acks})

    async def scenario() -> None:
        acks.release = asyncio.Event()
        engine.start()
        try:
            await asyncio.sleep(0.05)
            wps.write(rec(U, C, "u1"))
            await _until(lambda: len(wps.server.events) == 1 and len(acks.pushed) == 1)
            # The same person again: WPS's second event waits for its first's outcome, not the ACK.
            wps.write(rec(U, UP, "u1", USER_BEFORE))
            await _until(lambda: len(wps.server.events) == 2)
            assert len(acks.pushed) == 1  # Stream's waits for its first, whose ACK has not come
            acks.release.set()
            await _until(lambda: len(acks.pushed) == 2)
        finally:
            await engine.stop()

    asyncio.run(scenario())
    assert [e["operation"] for e in wps.server.events] == ["create", "update"]
    stream = [d for d in wps.deliveries() if d.event_id in acks.pushed]
    assert [d.topic for d in stream] == ["user_add_org", "user_modify_org"]
