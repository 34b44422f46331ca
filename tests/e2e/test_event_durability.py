"""Change events survive ``kill -9`` and are attempted once per attempt by several processes.

Real ``openroster serve`` processes (servers of the test's own, both backends) deliver to
receivers written from the protocol file (tests/event_receivers.py), which record every request
they get. The test counts them:

- **kill -9 with deliveries pending**: the WPS receiver holds one event unanswered (the server
  dies mid-send, its lease left behind) and refuses two; the DingTalk receiver is down. A write is
  made while no server runs. After a restart every event arrives, WPS's as the same envelope byte
  for byte, DingTalk's with the same ``eventId``.
- **``serve --workers 2``, and two ``serve`` processes on one store**: with the receivers refusing
  some events, each event is sent exactly as many times as its delivery counts attempts (one
  process per attempt, the lease in the store), each arrives, and the updates of one person arrive
  in commit order. A DingTalk Stream client connected to one of the processes (a raw client,
  ``stream_support.py``) gets every event once, those of the writes the other process made too:
  only a process holding a connection of the app claims its Stream deliveries.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): the delivery leases are claimed with ``FOR
UPDATE SKIP LOCKED`` there (store/outbox.py), by processes on connections of their own; SQLite
serializes the claims instead.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
import pytest
from dingtalk_support import AGENTID, APPKEY, APPSECRET
from stream_support import acking_stream
from wps_contacts_support import APP, APP_SECRET, TENANT, client, setup_tenant

import event_receivers as ind
from conftest import ServerProcess
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import apps
from openroster.events import subscriptions
from openroster.model.changes import Delivery, DeliveryStatus
from openroster.testing import ControlClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

Factory = Callable[..., ServerProcess]
TOKEN, AES_KEY = "durable-token", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
ADMIN = "durable-admin-token"
PERMISSIONS = ("qyapi_hrm_read_user", "qyapi_hrm_manager", "qyapi_get_member")
#: The servers' lease (``serve --events-lease``, real time): the shortest allowed, so a crashed
#: sender's delivery is taken over soon.
LEASE = ("--events-lease", "5")
#: Longer than a lease plus a retry's back-off (about 10 s) on a busy machine.
WAIT = 60.0


def world(d: Directory) -> None:
    """Tenant acme with its WPS app (KSO-1) and a DingTalk app."""
    setup_tenant(d)
    apps.create(d, tenant_id=TENANT, client_id=APPKEY, secret=APPSECRET, agentid=AGENTID, scopes=PERMISSIONS)


def subscribe(d: Directory, wps: ind.ReceiverServer, dingtalk: ind.ReceiverServer) -> set[str]:
    """A WPS and a DingTalk HTTP subscription to the receivers: their ids."""
    made = subscriptions.create(d, tenant_id=TENANT, kind="wps", app=APP, url=wps.url)
    made_dt = subscriptions.create(
        d, tenant_id=TENANT, kind="dingtalk", app=APPKEY, url=dingtalk.url, token=TOKEN, aes_key=AES_KEY
    )
    return {made.id, made_dt.id}


def deliveries(d: Directory) -> list[Delivery]:
    with d.store.read() as tx:
        return tx.outbox.list_deliveries(TENANT, limit=1000)


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT:.0f} s: {what}")
        time.sleep(0.1)


def all_delivered(d: Directory, subscribed: int, changes: int) -> Callable[[], bool]:
    """Every delivery delivered, and each of the ``subscribed`` subscriptions' deliveries list
    ``changes`` entities together: one pass fans the writes it finds out as one event per type, so
    how many events the changes make depends on the passes, how many entities they list does not."""

    def check() -> bool:
        got = deliveries(d)
        listed = Counter[str]()
        for x in got:
            listed[x.subscription_id] += len(x.entity_keys)
        return (
            all(x.status is DeliveryStatus.DELIVERED for x in got)
            and len(listed) == subscribed
            and set(listed.values()) == {changes}
        )

    return check


def wps_nonce(request: ind.Request) -> str:
    return str(orjson.loads(request.body)["nonce"])


def event_id(request: ind.Request) -> str:
    """What a receiver deduplicates on: the WPS envelope's nonce, DingTalk's ``eventId``."""
    if request.event is not None and "eventId" in request.event:
        return str(request.event["eventId"])
    return wps_nonce(request)


@dataclass
class Receivers:
    wps: ind.ReceiverServer
    dingtalk: ind.ReceiverServer

    def answered(self) -> Counter[str]:
        """How many times each event was answered 200, both receivers."""
        return Counter(
            event_id(r) for rx in (self.wps, self.dingtalk) for r in rx.requests if r.status == 200
        )

    def sent(self) -> Counter[str]:
        """How many times each event was sent (answered or not), both receivers."""
        return Counter(event_id(r) for rx in (self.wps, self.dingtalk) for r in rx.requests if r.event)


@contextlib.contextmanager
def receivers() -> Iterator[Receivers]:
    with (
        ind.serve(ind.WpsReceiver(APP, APP_SECRET)) as wps,
        ind.serve(ind.DingTalkReceiver(TOKEN, AES_KEY, APPKEY)) as dingtalk,
    ):
        try:
            yield Receivers(wps, dingtalk)
        finally:
            wps.release()


def test_deliveries_pending_at_a_kill_9_resume_after_the_restart(
    directory: Directory, server_factory: Factory
) -> None:
    world(directory)
    with ind.serve(ind.WpsReceiver(APP, APP_SECRET)) as wps_rx, contextlib.ExitStack() as down:
        dt_rx = down.enter_context(ind.serve(ind.DingTalkReceiver(TOKEN, AES_KEY, APPKEY)))
        subscribe(directory, wps_rx, dt_rx)
        down.close()  # the DingTalk receiver goes away: its events meet a refused connection
        server = server_factory("--admin-token", ADMIN, *LEASE)
        wps_rx.fail_next = 1
        with client(server) as wps:
            made = [wps.create_user(user_name="P0", dept_ids=["1"]).id]
            wait_until(
                lambda: sum(x.attempts for x in deliveries(directory)) == 2,
                "the first write refused by both receivers",
            )
            wps_rx.hold_next = 1  # the next WPS event is kept unanswered: the kill comes mid-send
            made += [wps.create_user(user_name=f"P{i}", dept_ids=["1"]).id for i in (1, 2)]
        deadline = time.monotonic() + WAIT
        while not any(r.reply == {"error": "held"} for r in wps_rx.requests):
            assert time.monotonic() < deadline, "the held event did not arrive"
            time.sleep(0.01)
        server.kill()  # within the attempt's 3 s: its lease stays in the store
        wps_rx.release()
        before = {x.event_id: x for x in deliveries(directory)}
        (held,) = [r for r in wps_rx.requests if r.reply == {"error": "held"}]
        # Sent, but no outcome written: the attempt died with the process (its lease is left).
        assert (before[wps_nonce(held)].status, before[wps_nonce(held)].attempts) == (
            DeliveryStatus.PENDING,
            0,
        )
        # A write while no server runs: recorded, fanned out and sent after the restart.
        users.create(
            directory, tenant_id=TENANT, item=users.NewUser(id="offline", user_name="Off", dept_ids=(1,))
        )
        port = urlsplit(dt_rx.url).port
        assert port is not None
        with ind.serve(dt_rx.receiver, port=port, state=dt_rx):
            again = server_factory("--admin-token", ADMIN, *LEASE)
            with ControlClient(again.base_url, ADMIN) as control:
                control.advance_clock(600)  # the refused ones are due at once; the lease is real time
            wait_until(all_delivered(directory, 2, 4), "every delivery delivered after the restart")
    after = {x.event_id: x for x in deliveries(directory)}
    assert set(before) < set(after)  # the same deliveries, plus the two of the offline write
    answered = Receivers(wps_rx, dt_rx).answered()
    assert set(answered) == set(after)  # each event arrived (at least once)
    # WPS: every attempt of an event sent the same envelope, byte for byte (the held one included).
    bodies: dict[str, set[bytes]] = {}
    for r in wps_rx.requests:
        bodies.setdefault(wps_nonce(r), set()).add(r.body)
    assert all(len(b) == 1 for b in bodies.values())
    assert len(bodies[wps_nonce(held)]) == 1 and wps_nonce(held) in answered
    # DingTalk: what arrived carries the event ids the store gave the deliveries before the kill.
    dt_ids = {str(e["eventId"]) for e in dt_rx.events}
    assert {x.event_id for x in before.values() if x.topic == "user_add_org"} < dt_ids
    assert sorted(u for e in dt_rx.events for u in e["userId"]) == sorted([*made, "offline"])


@pytest.mark.parametrize("topology", ["workers", "processes"])
def test_several_processes_attempt_each_delivery_once(
    directory: Directory, server_factory: Factory, topology: str
) -> None:
    world(directory)
    people, rounds = 6, 3
    with receivers() as rx:
        http = subscribe(directory, rx.wps, rx.dingtalk)
        rx.wps.fail_next = rx.dingtalk.fail_next = 3  # some retries, on the back-off schedule
        own = ("--admin-token", ADMIN)
        servers = (
            [server_factory("--workers", "2", *own)]
            if topology == "workers"
            else [server_factory(*own), server_factory(*own)]
        )
        clients = [client(s) for s in servers]
        control = ControlClient(servers[0].base_url, ADMIN)
        # One Stream client, its connection in one of the processes; the writes are made in both.
        with acking_stream(servers[0].base_url) as pushed, control:
            try:
                made = [
                    clients[i % len(clients)].create_user(user_name=f"P{i}", dept_ids=["1"]).id
                    for i in range(people)
                ]
                for n in range(rounds):
                    for i, uid in enumerate(made):
                        clients[(i + n) % len(clients)].update_user(uid, user_name=f"P{i} v{n}")
            finally:
                for c in clients:
                    c.close()
            changes = people * (1 + rounds)  # one WPS, one DingTalk and one Stream entity per write
            delivered = all_delivered(directory, 3, changes)

            def delivered_soon() -> bool:
                control.advance_clock(30)  # retries come due on the clock every process shares
                return delivered()

            wait_until(delivered_soon, f"{changes} changes delivered to each subscription")
        streamed = [x for x in deliveries(directory) if x.subscription_id not in http]
        got = [x for x in deliveries(directory) if x.subscription_id in http]
        sent, answered = rx.sent(), rx.answered()
    assert sorted(pushed) == sorted(x.event_id for x in streamed)  # each pushed once, all of them
    assert sum(len(x.entity_keys) for x in streamed) == changes and {x.attempts for x in streamed} == {1}
    assert set(answered) == {x.event_id for x in got}
    assert sent == Counter({x.event_id: x.attempts for x in got})  # no attempt was made twice
    refused = [r for receiver in (rx.wps, rx.dingtalk) for r in receiver.requests if r.status == 503]
    assert len(refused) == 6 and all(sent[event_id(r)] >= 2 for r in refused)  # each tried again
    # Order per person: each one's updates arrive as committed (src = the name before).
    for i, uid in enumerate(made):
        names = [
            user["src"]["user_name"]
            for e in rx.wps.events
            if e["operation"] == "update"
            for user in e["payload"]["users"]
            if user["user_id"] == uid
        ]
        assert names == [f"P{i}", *(f"P{i} v{n}" for n in range(rounds - 1))]
