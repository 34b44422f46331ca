"""Pruning (``events/pruning.py``) on both backends, on the directory's clock: delivered deliveries
past ``--events-retention``, dead ones past ``--events-dead-retention`` (replayable until then),
and a paused subscription's change records past ``--events-retention``: it shows what it missed
and, resumed, sends what is kept, in order, to a receiver written from the protocol file
(tests/event_receivers.py). Each kind goes in bounded steps, one writers' job per step, so a
backlog to prune never holds the writes queued behind it for long (the store's side of a step is
in ``tests/contract/test_outbox_contract.py``), in a task of the engine's own beside its passes,
so no event waits for a whole prune."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.core.runtime.clock import FixedClock
from openroster.core.tenancy import apps, tenants
from openroster.events import subscriptions
from openroster.events.control_routes import subscription_info
from openroster.events.engine import EventEngine
from openroster.events.pruning import Pruned, PruneStep
from openroster.model.changes import ChangeRecord, Delivery, DeliveryStatus, EntityKind, Operation
from openroster.model.changes import SubscriptionStatus as Status
from openroster.store.tx import WriteTx

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"
T0 = 1_800_000_000.0
HOUR, DAY = 3600, 86400


@dataclass
class World:
    """Tenant acme with one WPS subscription to a real receiver, the clock standing at ``T0``."""

    d: Directory
    engine: EventEngine
    server: ind.ReceiverServer
    sub: str

    def write(self, *uids: str, op: Operation = Operation.CREATE) -> None:
        """Each person created (or ``op``) in a transaction of their own."""
        for uid in uids:
            with self.d.writer() as tx:
                tx.record(ChangeRecord("acme", EntityKind.USER, op, uid))

    def flush(self) -> tuple[int, int]:
        return asyncio.run(self.engine.flush())

    def prune(self) -> Pruned:
        return self.engine.pruner.prune()

    def listed(self) -> dict[str, Any]:
        """The subscription as the control plane lists it (``GET .../subscriptions``)."""
        with self.d.store.read() as tx:
            sub = tx.outbox.get_subscription(self.sub, self.engine.unseal)
        assert sub is not None
        return subscription_info(sub)

    def deliveries(self) -> list[Delivery]:
        with self.d.store.read() as tx:
            return tx.outbox.list_deliveries("acme")

    def received(self) -> list[tuple[str, str]]:
        """``(operation, user id)`` of each event the receiver took, in arrival order."""
        return [(e["operation"], u["user_id"]) for e in self.server.events for u in e["payload"]["users"]]


@pytest.fixture
def world(directory: Directory) -> Iterator[World]:
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    d = directory.at_clock(FixedClock(T0))
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        sub = subscriptions.create(d, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        yield World(d, EventEngine(d), server, sub.id)


def test_a_delivered_event_stays_the_retention(world: World) -> None:
    world.write("u1")
    assert world.flush() == (1, 0)
    assert world.prune() == Pruned(records=1)  # the record was fanned out; the delivery is kept
    world.d.clock.advance(8 * DAY)
    assert world.prune() == Pruned(deliveries=1)
    assert world.deliveries() == []


def test_a_dead_delivery_is_pruned_after_its_retention_and_a_younger_one_stays(world: World) -> None:
    world.server.fail_next = 1000
    for uid in ("u1", "u2"):  # u1 dies 25 h after T0, u2 ten days later
        world.write(uid)
        assert world.flush() == (0, 1)
        world.d.clock.advance(25 * HOUR)  # past the 24 h of retries
        assert world.flush() == (0, 0)
        if uid == "u1":
            world.d.clock.advance(10 * DAY)
    dead = world.deliveries()
    assert [d.status for d in dead] == [DeliveryStatus.DEAD] * 2
    # Counted from when it died (its last attempt), not from its first: 30 days less 13 h after u1 died.
    world.d.clock.advance(20 * DAY - 38 * HOUR)
    assert world.prune().deliveries == 0
    world.d.clock.advance(14 * HOUR)  # u1 died 30 days and 1 h ago, u2 19 days and 23 h ago
    assert world.prune().deliveries == 1
    assert world.deliveries() == dead[1:]
    # The one kept is still replayable: the same envelope, byte for byte.
    world.server.fail_next = 0
    assert subscriptions.replay(world.d, world.sub, 0) == 1
    assert world.flush() == (1, 0)
    assert world.received() == [("create", "u2")]
    assert world.server.requests[-1].body == dead[1].body


def test_a_paused_subscription_misses_what_is_past_the_retention_and_gets_the_rest_in_order(
    world: World,
) -> None:
    subscriptions.set_status(world.d, world.sub, Status.PAUSED)
    world.write("u1", "u2", "u3")
    world.d.clock.advance(5 * DAY)
    world.write("u4", "u5")
    world.write("u4", op=Operation.UPDATE)
    assert world.listed()["missed"] == 0 and world.listed()["missed_until"] is None
    world.d.clock.advance(3 * DAY)  # u1-u3 are 8 days old, past the 7 days; the rest are 3
    assert world.prune() == Pruned(records=3, missed=3)
    listed = world.listed()
    assert (listed["status"], listed["missed"], listed["missed_until"]) == ("paused", 3, T0)
    with world.d.store.read() as tx:
        kept = tx.changes.records_after("acme", 0, 10)
    assert [c.record.entity_id for c in kept] == ["u4", "u5", "u4"]
    assert listed["cursor"] == kept[0].seq - 1  # what is sent on resume starts after it
    subscriptions.set_status(world.d, world.sub, Status.ACTIVE)
    assert world.flush() == (2, 0)  # u4's and u5's creates in one event, u4's update after it
    # In commit order: each person's events in order (different people's may overtake each other).
    assert [d.seq for d in world.deliveries()] == [kept[0].seq, kept[2].seq]  # the seq each opened at
    got = world.received()
    assert sorted(got) == [("create", "u4"), ("create", "u5"), ("update", "u4")]
    assert [op for op, uid in got if uid == "u4"] == ["create", "update"]
    assert world.prune() == Pruned(records=3)  # fanned out now; nothing more missed
    assert world.listed()["missed"] == 3


def test_an_active_subscription_that_cannot_render_its_events_holds_no_record_longer(
    world: World,
) -> None:
    with world.d.store.write() as tx:
        tx.apps.delete_app(APP_ID)  # its events can no longer be sealed: its cursor stays
    world.write("u1")
    assert world.flush() == (0, 0)
    world.d.clock.advance(8 * DAY)
    assert world.prune() == Pruned(records=1, missed=1)
    listed = world.listed()
    assert (listed["status"], listed["missed"], listed["missed_until"]) == ("active", 1, T0)


def test_pruning_goes_in_steps_of_each_kind_until_nothing_is_left(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for uid in ("a1", "a2", "a3"):  # a flush each: three deliveries
        world.write(uid)
        assert world.flush() == (1, 0)
    subscriptions.set_status(world.d, world.sub, Status.PAUSED)
    world.write("p1", "p2", "p3", "p4", "p5")
    world.d.clock.advance(8 * DAY)
    world.engine.pruner.step = 2
    jobs: list[PruneStep] = []
    write = world.engine.write

    def counted(job: Callable[[WriteTx], Any]) -> Any:
        jobs.append(done := write(job))
        return done

    monkeypatch.setattr(world.engine, "write", counted)
    assert world.prune() == Pruned(deliveries=3, records=8, missed=5)
    assert len(jobs) >= 4
    assert all(max(j.pruned.deliveries, j.pruned.records, j.pruned.missed) <= 2 for j in jobs)
    assert [j.more for j in jobs] == [True] * (len(jobs) - 1) + [False]
    with world.d.store.read() as tx:
        assert tx.changes.records_after("acme", 0, 10) == []
    assert world.deliveries() == []


def test_a_prune_under_way_holds_no_pass_back(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    tenants.create(world.d, tenant_id="other", name="Other")  # no subscription: its records may go
    with world.d.writer() as tx:
        for i in range(100):
            tx.record(ChangeRecord("other", EntityKind.USER, Operation.CREATE, f"o{i}"))
    engine = EventEngine(world.d, poll_interval=60)
    engine.pruner.step = 1  # a prune of 100 jobs, each 20 ms at least
    job = engine.pruner.job

    def slow(tx: WriteTx, *, now: int) -> PruneStep:
        time.sleep(0.02)
        return job(tx, now=now)

    monkeypatch.setattr(engine.pruner, "job", slow)

    async def scenario() -> int:
        engine.start()  # its first round starts the prune
        try:
            await asyncio.sleep(0.1)
            world.write("u1")
            for _ in range(100):  # well within the prune's 2 s
                if world.server.events:
                    break
                await asyncio.sleep(0.01)
            with world.d.store.read() as tx:
                return len(tx.changes.records_after("other", 0, 200))
        finally:
            await engine.stop()
            await asyncio.to_thread(world.d.writes.close)  # the prune's last job, if any

    left = asyncio.run(scenario())
    assert world.received() == [("create", "u1")]
    assert left > 1  # the prune was still under way when the event went
    assert engine.timings.woken.count == 1  # the write's wake-up to its pass, timed (--timings)
