"""The event engine's gathering window after a pass (events/pacing.py): none after a backlog's
round (it rendered nothing and left due deliveries out on the caps of attempts under way: paced by
its outcomes), kept under a write load though a receiver stays at its room; and under a write load
the outcomes of a pass's attempts wait for the next pass to write them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping

import orjson
import pytest

import event_receivers as ind
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.dialects.wps.event_crypto import seal_envelope
from openroster.events import engine as engine_module
from openroster.events import pacing, subscriptions
from openroster.events.engine import EventEngine
from openroster.events.sender import UNDER_WAY_PER_ORIGIN, Sender
from openroster.model.changes import (
    ChangeRecord,
    DeliveryStatus,
    EntityKind,
    Operation,
    RenderedEvent,
    Subscription,
    SubscriptionStatus,
)

APP_ID, APP_SECRET = "acme-kso", "acme-kso-secret"


@pytest.mark.parametrize(
    ("last_pass", "window"),
    [
        pytest.param(0.001, 0.01, id="a short pass: the floor"),
        pytest.param(0.02, 0.04, id="a longer pass: twice as long as it took"),
        pytest.param(0.5, 0.1, id="a very long pass: at most a tenth of a second"),
    ],
)
def test_the_next_pass_waits_twice_the_last_one_between_the_floor_and_the_cap(
    last_pass: float, window: float
) -> None:
    assert pacing.window(0.01, last_pass) == pytest.approx(window)


@pytest.mark.parametrize(
    ("rate", "last_pass", "window"),
    [
        pytest.param(200.0, 0.005, 0.01, id="the latency targets' rate: as without a rate"),
        pytest.param(pacing.RATE_REF, 0.02, 0.04, id="up to the reference rate: twice the last pass"),
        pytest.param(2 * pacing.RATE_REF, 0.02, 0.08, id="twice the reference rate: four times"),
        pytest.param(1.5 * pacing.RATE_REF, 0.02, 0.06, id="in between: in proportion"),
        pytest.param(10 * pacing.RATE_REF, 0.02, 0.1, id="at most the cap"),
        pytest.param(10 * pacing.RATE_REF, 0.0001, 0.01, id="at least the floor"),
    ],
)
def test_above_the_reference_rate_the_window_grows_with_the_rate(
    rate: float, last_pass: float, window: float
) -> None:
    assert pacing.window(0.01, last_pass, rate=rate) == pytest.approx(window)
    assert pacing.window(0.01, last_pass, rate=rate, capped=True) == 0.0


def test_while_events_are_held_up_the_window_stays_twice_the_last_pass_whatever_the_rate() -> None:
    """Events held up behind an open delivery of their entity go one pass an outcome: a window
    grown with the rate would let them fall behind the writes while the load lasts."""
    rate = 4 * pacing.RATE_REF
    assert pacing.window(0.01, 0.02, rate=rate) == pytest.approx(0.1)
    assert pacing.window(0.01, 0.02, rate=rate, held_up=True) == pytest.approx(0.04)
    assert pacing.window(0.01, 0.001, rate=rate, held_up=True) == pytest.approx(0.01)


def test_the_rate_is_taken_over_whole_spans_of_passes() -> None:
    """Records a second over at least ``RATE_SPAN`` seconds: a span's passes together, the last
    whole span's rate kept until the next one ends, and a quiet spell counted in the span."""
    rate = pacing.Rate()
    span = pacing.RATE_SPAN
    assert rate.add(5, 100.0) == 0.0  # (the first pass starts the span)
    assert rate.add(30, 100.0 + span / 2) == 0.0
    assert rate.add(40, 100.0 + span) == pytest.approx(75 / span)
    assert rate.add(500, 100.0 + 1.5 * span) == pytest.approx(75 / span)
    assert rate.add(0, 100.0 + 2 * span) == pytest.approx(500 / span)
    # A pass after a quiet spell of ten spans: its records over the whole spell.
    assert rate.add(20, 100.0 + 12 * span) == pytest.approx(20 / (10 * span))


def test_the_rate_counts_a_tenants_records_once_however_many_subscriptions_render_them(
    directory: Directory,
) -> None:
    """Five subscriptions of one tenant and one of another: a pass that renders the first
    tenant's 7 records and the other's 2 counts 9 (the write load is the records, not the
    subscriptions' copies of them); a pass with nothing new counts none."""
    for tenant, company in (("acme", "C1"), ("beta", "C2")):
        tenants.create(directory, tenant_id=tenant, name=tenant, wps_company_id=company)
        apps.create(directory, tenant_id=tenant, client_id=f"{tenant}-kso", secret=APP_SECRET, signing="kso1")
    with directory.writer() as tx:
        for n in range(5):
            sub = Subscription(f"a{n}", "acme", "wps", "acme-kso", f"http://127.0.0.1:9/a{n}")
            tx.outbox.insert_subscription(sub, token_sealed=None, aes_key_sealed=None)
        sub = Subscription("b0", "beta", "wps", "beta-kso", "http://127.0.0.1:9/b0")
        tx.outbox.insert_subscription(sub, token_sealed=None, aes_key_sealed=None)
    for tenant, people in (
        ("acme", ("u1", "u2", "u3")),
        ("acme", ("u4", "u5", "u6", "u7")),
        ("beta", ("v1", "v2")),
    ):
        with directory.writer() as tx:
            for person in people:
                tx.record(ChangeRecord(tenant, EntityKind.USER, Operation.UPDATE, person, ("name",)))
    engine = EventEngine(directory, poll_interval=60)
    # (one event a subscription: a pass merges its transactions' records of one topic and operation)
    assert len(engine.step().attempts) == 5 + 1
    assert engine.records_rendered == 9
    engine.step()
    assert engine.records_rendered == 9


def test_a_subscription_whose_events_cannot_be_rendered_counts_its_records_once(
    directory: Directory,
) -> None:
    """A DingTalk subscription without its keys fails to render every pass and keeps its cursor:
    its 300 records are read again each pass, but counted once (else a pass without a write would
    count them anew, and the rate would hold every tenant's window at its cap)."""
    tenants.create(directory, tenant_id="acme", name="acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with directory.writer() as tx:
        sub = Subscription("d0", "acme", "dingtalk", APP_ID, "http://127.0.0.1:9/d0")
        tx.outbox.insert_subscription(sub, token_sealed=None, aes_key_sealed=None)
    with directory.writer() as tx:
        for n in range(300):
            tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, f"u{n}", ("name",)))
    engine = EventEngine(directory, poll_interval=60)
    counts = []
    for _ in range(3):
        assert not engine.step().attempts
        counts.append(engine.records_rendered)
    assert counts == [300, 300, 300]
    with directory.writer() as tx:
        tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, "u0", ("name",)))
    engine.step()
    assert engine.records_rendered == 301


def test_a_resumed_subscriptions_backlog_is_not_counted_again(directory: Directory) -> None:
    """Two subscriptions of a tenant, one paused while the other takes 3 writes' records: resumed,
    it renders the same records, which the passes counted already; new records still count."""
    tenants.create(directory, tenant_id="acme", name="acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with directory.writer() as tx:
        for n in range(2):
            sub = Subscription(f"a{n}", "acme", "wps", APP_ID, f"http://127.0.0.1:9/a{n}")
            tx.outbox.insert_subscription(sub, token_sealed=None, aes_key_sealed=None)
    assert subscriptions.set_status(directory, "a1", SubscriptionStatus.PAUSED)
    for person in ("u1", "u2", "u3"):
        with directory.writer() as tx:
            tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, person, ("name",)))
    engine = EventEngine(directory, poll_interval=60)
    assert engine.fan_out() == 1  # a0's event, the three transactions' people in one
    assert engine.records_rendered == 3
    assert subscriptions.set_status(directory, "a1", SubscriptionStatus.ACTIVE)
    with directory.writer() as tx:
        tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, "u4", ("name",)))
    assert engine.fan_out() == 1 + 1  # a0's new one; a1's backlog and the new one, merged
    assert engine.fan_out() == 0
    assert engine.records_rendered == 4


def test_an_engines_own_floor_wins_over_the_cap() -> None:
    # A test engine asks for a 1 s window (tests/unit/test_event_flush.py): it gets it.
    assert pacing.window(1.0, 0.001) == 1.0
    assert pacing.window(0.0, 0.0) == 0.0


def test_a_round_that_ended_on_the_caps_of_attempts_under_way_starts_the_next_at_once() -> None:
    assert pacing.window(1.0, 0.5, capped=True) == 0.0


def test_a_backlog_is_paced_by_its_outcomes_not_by_the_gathering_window(directory: Directory) -> None:
    """A backlog three times a receiver's room: each round ends on the cap of attempts under way
    (``UNDER_WAY_PER_ORIGIN``), and the next starts as the outcomes make room, not after the
    gathering window (30 s here: waited for, the backlog would take a minute)."""
    n = 3 * UNDER_WAY_PER_ORIGIN
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        sub = Subscription("backlog", "acme", "wps", APP_ID, server.url)
        events = [
            RenderedEvent(
                i,
                f"e{i}",
                "kso.user",
                "update",
                (f"user:u{i}",),
                orjson.dumps(seal_envelope(APP_ID, APP_SECRET, "kso.user", "update", {"i": i}, time=1)),
            )
            for i in range(n)
        ]
        with directory.writer() as tx:
            tx.outbox.insert_subscription(sub, token_sealed=None, aes_key_sealed=None)
            tx.outbox.insert_deliveries(sub, events, directory.now_ms())
        engine = EventEngine(directory, poll_interval=60, gather=30.0)

        async def scenario() -> None:
            engine.start()
            try:
                await asyncio.to_thread(server.wait_for, lambda got: len(got) == n, 20)
            finally:
                await engine.stop()

        asyncio.run(scenario())
    assert sorted(e["payload"]["i"] for e in server.events) == list(range(n))
    assert engine.timings.passes.ran.count >= 3  # a round per room's worth at least


class _SlowReceiverSender(Sender):
    """Holds every POST to port 9 (a receiver that never answers: it stays at its room) until
    released; answers the others at once."""

    release: asyncio.Event | None = None

    async def post(
        self, url: str, query: Mapping[str, str], content: bytes, *, answer_within: float
    ) -> tuple[int, bytes]:
        if url.startswith("http://127.0.0.1:9/"):
            if _SlowReceiverSender.release is None:
                _SlowReceiverSender.release = asyncio.Event()
            await _SlowReceiverSender.release.wait()
        return 200, b""


def _write_every_5ms(directory: Directory, stop: threading.Event) -> int:
    """Commit a user's update every 5 ms (users u0, u1, ...) until ``stop``; how many."""
    n = 0
    while not stop.is_set():
        with directory.writer() as tx:
            tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, f"u{n}", ("name",)))
        n += 1
        time.sleep(0.005)
    return n


def test_a_write_load_is_paced_by_the_window_while_a_receiver_stays_at_its_room(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver holding every request, a backlog past its room, and a commit every 5 ms for
    another receiver: every look leaves the held receiver's due deliveries out on its cap, yet the
    passes keep the gathering window (a tenth of a second here) instead of one a commit."""
    gather = 0.1
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    slow = Subscription("slow", "acme", "wps", APP_ID, "http://127.0.0.1:9/slow")
    backlog = [
        RenderedEvent(i, f"b{i}", "kso.user", "update", (f"user:b{i}",), b"{}")
        for i in range(2 * UNDER_WAY_PER_ORIGIN)
    ]
    with directory.writer() as tx:
        tx.outbox.insert_subscription(slow, token_sealed=None, aes_key_sealed=None)
        tx.outbox.insert_subscription(
            Subscription("fast", "acme", "wps", APP_ID, "http://127.0.0.1:10/fast"),
            token_sealed=None,
            aes_key_sealed=None,
        )
        tx.outbox.insert_deliveries(slow, backlog, directory.now_ms())
    monkeypatch.setattr(engine_module, "Sender", _SlowReceiverSender)
    monkeypatch.setattr(_SlowReceiverSender, "release", None)
    engine = EventEngine(directory, poll_interval=60, gather=gather)

    async def scenario() -> tuple[int, int, float]:
        engine.start()
        try:
            await asyncio.sleep(0.3)  # the backlog's first round: the receiver at its room
            stop, before = threading.Event(), engine.timings.passes.ran.count
            began = time.monotonic()
            writing = asyncio.get_running_loop().run_in_executor(None, _write_every_5ms, directory, stop)
            await asyncio.sleep(1.0)
            stop.set()
            writes = await writing
            return writes, engine.timings.passes.ran.count - before, time.monotonic() - began
        finally:
            if _SlowReceiverSender.release is not None:
                _SlowReceiverSender.release.set()
            await engine.stop()

    writes, passes, took = asyncio.run(scenario())
    assert writes > 3 * (took / gather + 3)  # (a pass a commit would show)
    assert passes <= took / gather + 3


def test_under_a_write_load_the_next_pass_carries_the_outcomes(directory: Directory) -> None:
    """A commit every 5 ms for a second to a receiver that answers at once, the window at its cap
    (here its floor, ``gather``): the outcomes of a pass's attempts wait for the next pass, whose
    job writes them before it claims, instead of a transaction of their own each round (before,
    one outcome job followed every pass and the passes carried none); every event is delivered."""
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        engine = EventEngine(directory, poll_interval=60, gather=pacing.SHARE_MAX)

        async def scenario() -> int:
            engine.start()
            try:
                await asyncio.sleep(0.2)
                stop = threading.Event()
                writing = asyncio.get_running_loop().run_in_executor(None, _write_every_5ms, directory, stop)
                await asyncio.sleep(1.0)
                stop.set()
                writes = await writing
                assert (await engine.flush())[1] == 0
                return writes
            finally:
                await engine.stop()

        writes = asyncio.run(scenario())
        users = {u["user_id"] for e in server.events for u in e["payload"]["users"]}
        assert users == {f"u{i}" for i in range(writes)}
    passes, jobs, carried = (
        engine.timings.passes.ran.count,
        engine.timings.outcomes.ran.count,
        engine.timings.carried.count,
    )
    assert passes >= 6
    assert carried >= passes // 2  # (10 of 11 passes, 9 of 10; with a 50 ms window before, 0 or 1)
    assert jobs <= passes // 2  # (1 to 4 outcome jobs; before, about one a pass)


@pytest.mark.parametrize(
    ("window", "load", "linger"),
    [
        pytest.param(0.1, True, 0.21, id="a write load, the window at its cap: the next pass carries them"),
        pytest.param(0.04, True, 0.01, id="below the cap: their own job, the pass kept short"),
        pytest.param(0.1, False, 0.01, id="no write load (a backlog): their own job"),
        pytest.param(1.0, True, 0.25, id="a long floor: at most a quarter of a second"),
    ],
)
def test_outcomes_wait_for_the_next_pass_only_while_a_write_load_holds_the_window_at_its_cap(
    window: float, load: bool, linger: float
) -> None:
    assert pacing.linger(window, load=load) == pytest.approx(linger)


def test_the_engines_stop_writes_the_outcomes_still_lingering(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outcome that lingers for the next pass (here 30 s) when the engine stops (a server's
    graceful stop under a write load) is written before the stop returns: the delivery reads
    delivered, not left for its lease to run out and be sent again."""
    monkeypatch.setattr(pacing, "linger", lambda window, *, load: 30.0)
    tenants.create(directory, tenant_id="acme", name="Acme", wps_company_id="C1")
    apps.create(directory, tenant_id="acme", client_id=APP_ID, secret=APP_SECRET, signing="kso1")
    with ind.serve(ind.WpsReceiver(APP_ID, APP_SECRET)) as server:
        subscriptions.create(directory, tenant_id="acme", kind="wps", app=APP_ID, url=server.url)
        engine = EventEngine(directory, poll_interval=60)

        async def scenario() -> float:
            engine.start()
            with directory.writer() as tx:
                tx.record(ChangeRecord("acme", EntityKind.USER, Operation.UPDATE, "u1", ("name",)))
            await asyncio.to_thread(server.wait_for, lambda events: len(events) == 1, 10)
            await asyncio.sleep(0.3)  # the attempt reads the receiver's answer
            began = time.monotonic()
            await engine.stop()
            return time.monotonic() - began

        took = asyncio.run(scenario())
    assert len(server.events) == 1
    with directory.store.read() as tx:
        (delivery,) = tx.outbox.list_deliveries("acme", limit=10)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert took < 5  # written at once, not after the linger
